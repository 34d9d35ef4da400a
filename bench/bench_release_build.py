"""Release build time and peak memory per process on the real services, for N recordings.

Seeds N accepted donations (one minute each, head and two hands at 90 Hz, processed artifacts
in the canonical schema) into a database of its own, starts real Celery worker processes, creates
a release and times it from creation to `built`: coordinator, one task per shard, final task.
Peak memory is VmHWM of every worker process (parents and prefork children) and of this process.

To keep the object store small, the N donations share K distinct processed artifacts (the
platform's artifacts are content-addressed, so identical takes share a prefix): the build still
reads one artifact per item and writes every row, so the work is the same as for N distinct
takes; only the store's size is not.

Run (PostgreSQL and Redis up; a moto server is started on --moto-port if none is listening):
  .venv/bin/python bench/bench_release_build.py --count 1000 --count 10000
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.measure import machine  # noqa: E402

RATE = 90
SECONDS = 60
DISTINCT = 16


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _environment(args: argparse.Namespace) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "metagen.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-not-for-production-use-0123456789abcdef",
        "DATABASE_URL": f"{args.postgres}/{args.database}",
        "CELERY_BROKER_URL": args.broker,
        "CACHE_URL": args.cache,
        "STORAGE_BACKEND": "s3",
        "AWS_S3_ENDPOINT_URL": f"http://127.0.0.1:{args.moto_port}",
        "AWS_STORAGE_BUCKET_NAME": "metagen-bench",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_S3_REGION_NAME": "us-east-1",
        "CELERY_TASK_DEFAULT_QUEUE": "metagen-bench",
    }


def _high_water(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(c) for c in text)
    return found


def _motion_table(seed: int):  # type: ignore[no-untyped-def]
    import numpy as np
    import pyarrow as pa

    from processing.motion.tables import MOTION_SCHEMA

    frames = RATE * SECONDS
    t = np.arange(frames) / RATE
    rng = np.random.default_rng(seed)
    columns: dict[str, list] = {name: [] for name in MOTION_SCHEMA.names}
    for k, track in enumerate(("head", "left_hand", "right_hand")):
        base = np.array([0.0, 1.6, 0.0]) if k == 0 else np.array([0.3 * (2 * k - 3), 1.1, -0.3])
        walk = np.cumsum(rng.normal(0, 0.002, (frames, 3)), axis=0)
        pos = base + walk + 0.05 * np.sin(t[:, None] * (1 + k))
        angle = 0.3 * np.sin(t * (0.5 + k))
        columns["track"].append(pa.array([track] * frames, pa.string()))
        columns["frame"].append(pa.array(np.arange(frames, dtype=np.int32)))
        columns["t"].append(pa.array(t))
        for i, axis in enumerate(("px", "py", "pz")):
            columns[axis].append(pa.array(pos[:, i].astype(np.float32)))
        quat = {"qx": 0 * t, "qy": np.sin(angle / 2), "qz": 0 * t, "qw": np.cos(angle / 2)}
        for axis, values in quat.items():
            columns[axis].append(pa.array(values.astype(np.float32)))
    return pa.table(
        {name: pa.concat_arrays(parts) for name, parts in columns.items()}, schema=MOTION_SCHEMA
    )


def _summary() -> dict[str, object]:
    return {
        "schema_version": 1,
        "source_format": "bench",
        "frame_rate": float(RATE),
        "frame_count": RATE * SECONDS,
        "duration_s": SECONDS - 1 / RATE,
        "tracks": [
            {"name": "head", "role": "head"},
            {"name": "left_hand", "role": "left_hand"},
            {"name": "right_hand", "role": "right_hand"},
        ],
        "skeleton": None,
        "events": None,
    }


def _seed(count: int) -> list[str]:
    """Fresh schema, K artifacts in storage, `count` accepted donations with consent."""
    import io

    import boto3
    import pyarrow.parquet as pq
    from django.conf import settings
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import User
    from consent.models import ConsentDocument, ConsentEvent
    from donations.models import Donation, DonationStatus

    call_command("flush", interactive=False, verbosity=0)
    options = settings.STORAGES["default"]["OPTIONS"]
    s3 = boto3.client(
        "s3",
        endpoint_url=options["endpoint_url"],
        aws_access_key_id=options["access_key"],
        aws_secret_access_key=options["secret_key"],
        region_name=options["region_name"],
    )
    bucket = options["bucket_name"]
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=bucket)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})

    prefixes = []
    for k in range(DISTINCT):
        buffer = io.BytesIO()
        pq.write_table(_motion_table(k), buffer, compression="zstd")
        prefix = f"processed/bench{k:02d}/v1/"
        default_storage.save(f"{prefix}motion.parquet", ContentFile(buffer.getvalue()))
        prefixes.append(prefix)

    document = ConsentDocument.objects.create(
        version=1000,
        title="bench",
        text="bench",
        sha256=ConsentDocument.hash_text("bench"),
        effective_at="2026-01-01T00:00:00Z",
        scopes_offered=["motion:model_training", "motion:open_release"],
    )
    unusable = "!"  # an unusable password hash: these accounts cannot log in
    donors = User.objects.bulk_create(
        User(email=f"bench{n}@example.org", password=unusable) for n in range(max(1, count // 4))
    )
    ConsentEvent.objects.bulk_create(
        ConsentEvent(
            donor=donor,
            document=document,
            document_sha256=document.sha256,
            action=ConsentEvent.Action.GRANT,
            scopes=["motion:model_training", "motion:open_release"],
            method=ConsentEvent.Method.WEB,
        )
        for donor in donors
    )
    summary = _summary()
    Donation.objects.bulk_create(
        (
            Donation(
                donor=donors[n % len(donors)],
                status=DonationStatus.ACCEPTED,
                artifact_prefix=prefixes[n % DISTINCT],
                summary=summary,
            )
            for n in range(count)
        ),
        batch_size=1000,
    )
    connection.close()
    return prefixes


def _run(count: int, args: argparse.Namespace, env: dict[str, str]) -> dict[str, object]:
    from accounts.models import User
    from releases.models import Dataset, Release
    from releases.services import release_create

    _seed(count)
    workers = []
    logs = Path(args.logs)
    logs.mkdir(parents=True, exist_ok=True)
    for w in range(args.workers):
        log = (logs / f"worker{w}-{count}.log").open("w")
        workers.append(
            subprocess.Popen(
                [
                    str(ROOT / ".venv/bin/celery"), "-A", "metagen", "worker", "--loglevel=WARNING",
                    f"--concurrency={args.concurrency}", "--without-gossip", "--without-mingle",
                    "-n", f"bench{w}@%h",
                ],
                cwd=ROOT, env={**os.environ, **env, "MALLOC_ARENA_MAX": args.malloc_arena_max},
                stdout=log, stderr=subprocess.STDOUT,
            )
        )  # fmt: skip
    from metagen.celery import app

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=1.0) or []
        if len(replies) >= args.workers:
            break
    try:
        curator = User.objects.create(email="bench-curator@example.org", password="!")  # noqa: S106
        dataset, _ = Dataset.objects.get_or_create(
            slug="bench", defaults={"title": "Bench", "required_scopes": ["motion:open_release"]}
        )
        start = time.perf_counter()
        release = release_create(dataset=dataset, version="1.0.0", curator=curator)
        while True:
            release.refresh_from_db()
            if release.status in (Release.Status.BUILT, Release.Status.FAILED):
                break
            time.sleep(0.5)
        seconds = time.perf_counter() - start
        peaks = {}
        for w, proc in enumerate(workers):
            peaks[f"worker{w}"] = _high_water(proc.pid)
            for n, child in enumerate(_children(proc.pid)):
                peaks[f"worker{w}.child{n}"] = _high_water(child)
        peaks["coordinator-client"] = _high_water(os.getpid())
        shard_bytes = sum(f.size for f in release.files.all() if f.path.startswith("data/"))
        return {
            "count": count,
            "status": release.status,
            "seconds": round(seconds, 2),
            "shards": release.shard_count,
            "shard_bytes": shard_bytes,
            "peak_bytes": peaks,
        }
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, action="append")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="metagen_d_bench")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--cache", default="redis://127.0.0.1:6379/11")
    parser.add_argument(
        "--malloc-arena-max", default="2", help="MALLOC_ARENA_MAX of the workers (glibc)"
    )
    parser.add_argument("--moto-port", type=int, default=9561)
    parser.add_argument("--logs", default=str(Path(tempfile.gettempdir()) / "metagen-bench"))
    args = parser.parse_args()
    counts = args.count or [1000, 10000]

    env = _environment(args)
    os.environ.update(env)
    import psycopg

    with psycopg.connect(f"{args.postgres}/postgres", autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (args.database,)
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{args.database}"')
    moto = None
    if not _port_open(args.moto_port):
        moto = subprocess.Popen(
            [str(ROOT / ".venv/bin/moto_server"), "-H", "127.0.0.1", "-p", str(args.moto_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        while not _port_open(args.moto_port):
            time.sleep(0.2)
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        results = [_run(count, args, env) for count in counts]
    finally:
        if moto is not None:
            moto.terminate()
            moto.wait(timeout=20)

    print(f"machine  {machine()}; {args.workers} worker(s) x concurrency {args.concurrency}")
    for r in results:
        peaks = r["peak_bytes"]
        assert isinstance(peaks, dict)
        worst = max(peaks.items(), key=lambda kv: kv[1])
        print(
            f"{r['count']:>6} recordings  {r['status']}  {r['seconds']:>8.1f} s  "
            f"{r['shards']} shard(s), {int(r['shard_bytes']) / 1e6:.0f} MB of shards  "
            f"peak {worst[1] / 1e6:.0f} MB ({worst[0]})"
        )
    if len(results) >= 2:
        ratio = float(results[-1]["seconds"]) / float(results[0]["seconds"])
        scale = int(results[-1]["count"]) / int(results[0]["count"])
        print(f"time ratio {ratio:.2f}x for {scale:.0f}x the recordings")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
