"""The production shape on this machine, for fault drills: its own PostgreSQL cluster, Redis
(append-only, as in docker-compose.yml), moto's S3 server behind a TCP proxy, gunicorn with
platform/gunicorn.conf.py, a Celery worker with two processes and beat. Every component can be
stopped, killed with SIGKILL and started again; every process and mount is tracked so that
`Stack.close()` leaves nothing behind.

moto keeps its objects in memory, so "object storage down" is the proxy in front of it going
away (connections refused, open ones reset): the objects survive the outage as they would on a
real S3 server that restarts.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), Path("/usr/bin"))

PG_PORT = 55432
REDIS_PORT = 16380
S3_PORT = 9580  # what the platform talks to: the proxy
MOTO_PORT = 19580  # moto itself, behind the proxy
WEB_PORT = 8190
BUCKET = "metagen-drill"
DATABASE = "metagen"

DATABASE_URL = f"postgres://postgres@127.0.0.1:{PG_PORT}/{DATABASE}"
SITE_URL = f"http://127.0.0.1:{WEB_PORT}"


def base_env() -> dict[str, str]:
    """The worker, beat and web environment: docker-compose.yml's, pointing at the drill servers,
    with the recovery timings of the drills (short sweeps, grace and time limits)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CELERY_", "AWS_", "DATABASE_", "CACHE_", "PYTEST"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "metagen.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "drills-only-secret-key-not-for-production-use-0123456789abcdef",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_HTTPS": "false",
            "SITE_URL": SITE_URL,
            "DATABASE_URL": DATABASE_URL,
            "DATABASE_CONN_MAX_AGE": "60",
            "CACHE_URL": f"redis://127.0.0.1:{REDIS_PORT}/1",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
            "CELERY_TASK_DEFAULT_QUEUE": "metagen",
            "STORAGE_BACKEND": "s3",
            "AWS_S3_ENDPOINT_URL": f"http://127.0.0.1:{S3_PORT}",
            "AWS_STORAGE_BUCKET_NAME": BUCKET,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_S3_REGION_NAME": "us-east-1",
            "EMAIL_URL": "consolemail://",
            "UPLOAD_THROTTLE_OPEN": "10000/hour",
            "UPLOAD_THROTTLE_PART": "10000/minute",
            "MALLOC_ARENA_MAX": "2",
            "LOG_LEVEL": "INFO",
            # The recovery contract (issue 11): sweeps every few seconds, short grace and limits.
            "SWEEP_INTERVAL_S": "3",
            "STUCK_GRACE_S": "8",
            "PROCESSING_SOFT_TIME_LIMIT": "20",
            "PROCESSING_MAX_RETRIES": "8",
            "PROCESSING_RETRY_BACKOFF_S": "1",
            "RELEASE_STEP_MAX_RETRIES": "2",
            "RELEASE_RETRY_BACKOFF_S": "1",
            "GUNICORN_BIND": f"127.0.0.1:{WEB_PORT}",
            "GUNICORN_WORKERS": "2",
            "GUNICORN_THREADS": "2",
            "GUNICORN_TIMEOUT": "60",
        }
    )
    return env


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def wait_until(predicate: Callable[[], object], *, timeout: float, what: str, step: float = 0.2):
    """Poll until predicate() is truthy and return its value; AssertionError naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(step)


def _stop(process: subprocess.Popen | None, *, sig: int = signal.SIGTERM, timeout: float = 20):
    """Signal a process group we started and wait for it; SIGKILL the group if it lingers."""
    if process is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=timeout)
    # Pool children outlive a killed main process; the group takes them too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(p) for p in text.split()]


def cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


# --- Object storage: moto behind a proxy that can go down ------------------------------------


class StorageProxy:
    """A TCP proxy in a thread: up forwards to moto, down refuses connections and resets the
    open ones. `trip_on` takes it down the moment a request line matches a pattern."""

    def __init__(self, *, listen: int, target: int) -> None:
        self.listen, self.target = listen, target
        self._server: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._trip: re.Pattern[bytes] | None = None
        self.tripped = threading.Event()

    @property
    def up(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        if self._server is not None:
            return
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.listen))
        server.listen(128)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            server, self._server = self._server, None
            conns, self._conns = self._conns, set()
        if server is not None:
            with contextlib.suppress(OSError):
                server.shutdown(socket.SHUT_RDWR)
            server.close()
        for conn in conns:
            try:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()  # with linger 0: a reset, as a crashed server gives
            except OSError:
                pass

    def trip_on(self, pattern: bytes) -> None:
        self.tripped.clear()
        self._trip = re.compile(pattern)

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._server is not server:
                    client.close()
                    upstream.close()
                    return
                self._conns.update((client, upstream))
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, client: socket.socket, upstream: socket.socket) -> None:
        pair = {client: upstream, upstream: client}
        try:
            while True:
                readable, _, _ = select.select(list(pair), [], [], 1.0)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is client and self._trip is not None and self._trip.search(data):
                        self._trip = None
                        self.tripped.set()
                        threading.Thread(target=self.stop, daemon=True).start()
                        return
                    pair[sock].sendall(data)
        except OSError:
            return
        finally:
            with self._lock:
                self._conns.discard(client)
                self._conns.discard(upstream)
            for sock in (client, upstream):
                with contextlib.suppress(OSError):
                    sock.close()


# --- The stack ---------------------------------------------------------------------------------


@dataclass
class Stack:
    tmp: Path
    env: dict[str, str] = field(default_factory=base_env)
    postgres_running: bool = False
    redis: subprocess.Popen | None = None
    moto: subprocess.Popen | None = None
    web: subprocess.Popen | None = None
    worker: subprocess.Popen | None = None
    beat: subprocess.Popen | None = None
    mounts: list[Path] = field(default_factory=list)
    groups: list[subprocess.Popen] = field(default_factory=list)
    storage: StorageProxy = field(init=False)

    def __post_init__(self) -> None:
        self.storage = StorageProxy(listen=S3_PORT, target=MOTO_PORT)
        self.logs = self.tmp / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    # Processes -------------------------------------------------------------------------------

    def _spawn(self, name: str, command: list[str], env: dict[str, str] | None = None):
        log = (self.logs / f"{name}.log").open("ab")
        log.write(f"\n--- start {time.strftime('%H:%M:%S')} {command[0]}\n".encode())
        log.flush()
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env or self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: stopping it takes its children too
        )
        self.groups.append(process)
        return process

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # PostgreSQL: a cluster of our own, run as the postgres OS user (initdb refuses root).

    def _as_postgres(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            check=check,
            capture_output=True,
            text=True,
            timeout=120,
        )

    @property
    def pg_data(self) -> Path:
        return self.tmp / "pg" / "data"

    def postgres_init(self) -> None:
        pg = self.tmp / "pg"
        pg.mkdir(exist_ok=True)
        shutil.chown(pg, "postgres", "postgres")
        self._as_postgres(
            str(PG_BIN / "initdb"), "-D", str(self.pg_data), "-A", "trust", "-U", "postgres",
            "--no-sync",
        )  # fmt: skip
        self.postgres_start()
        self._as_postgres(
            str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres",
            DATABASE,
        )  # fmt: skip

    def postgres_start(self) -> None:
        self._as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.pg_data), "-l", str(self.tmp / "pg" / "log"),
            "-w", "-o", f"-p {PG_PORT} -k {self.tmp / 'pg'} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=200",
            "start",
        )  # fmt: skip
        self.postgres_running = True

    def postgres_stop(self, *, mode: str = "fast") -> None:
        self._as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.pg_data), "-w", "-m", mode, "stop",
            check=False,
        )  # fmt: skip
        self.postgres_running = False

    # Redis: append-only as in docker-compose.yml.

    def redis_start(self) -> None:
        if self.redis is not None and self.redis.poll() is None:
            return
        folder = self.tmp / "redis"
        folder.mkdir(exist_ok=True)
        self.redis = self._spawn(
            "redis",
            ["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1",
             "--appendonly", "yes", "--dir", str(folder), "--save", ""],
        )  # fmt: skip
        wait_until(lambda: port_open(REDIS_PORT), timeout=30, what="redis")

    def redis_stop(self, *, kill: bool = False) -> None:
        _stop(self.redis, sig=signal.SIGKILL if kill else signal.SIGTERM)
        self.redis = None

    def redis_flush(self) -> None:
        subprocess.run(
            ["redis-cli", "-p", str(REDIS_PORT), "flushall"], check=True, capture_output=True
        )

    # Object storage.

    def moto_start(self) -> None:
        self.moto = self._spawn(
            "moto", [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(MOTO_PORT)]
        )
        wait_until(lambda: port_open(MOTO_PORT), timeout=30, what="moto")
        self.storage.start()
        client = self.s3()
        client.create_bucket(Bucket=BUCKET)

    def s3(self):  # type: ignore[no-untyped-def]
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{MOTO_PORT}",  # around the proxy: always up
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 2}),
        )

    def keys(self, prefix: str = "") -> list[str]:
        found: list[str] = []
        for page in (
            self.s3().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        ):
            found.extend(obj["Key"] for obj in page.get("Contents", []))
        return sorted(found)

    # The platform's roles.

    def manage(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise AssertionError(f"manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def web_start(self) -> None:
        self.web = self._spawn(
            "web",
            [str(VENV_BIN / "gunicorn"), "metagen.wsgi:application", "--config",
             "platform/gunicorn.conf.py"],
        )  # fmt: skip

        def ready() -> bool:
            if self.web is not None and self.web.poll() is not None:
                raise AssertionError(f"gunicorn exited:\n{self.log('web')[-3000:]}")
            return port_open(WEB_PORT)

        wait_until(ready, timeout=60, what="gunicorn")

    def web_stop(self) -> None:
        _stop(self.web)
        self.web = None

    def worker_start(self, **extra_env: str) -> None:
        env = {**self.env, **extra_env}
        ready_before = self.log("worker").count(" ready.")
        self.worker = self._spawn(
            "worker",
            [str(VENV_BIN / "celery"), "-A", "metagen", "worker", "--loglevel=INFO",
             "--concurrency=2", "-n", "drill@%h"],
            env=env,
        )  # fmt: skip
        wait_until(
            lambda: (
                len(children(self.worker.pid)) >= 2
                and self.log("worker").count(" ready.") > ready_before
            ),
            timeout=120,
            what="the worker's pool",
        )

    def worker_stop(self, *, kill: bool = False) -> None:
        _stop(self.worker, sig=signal.SIGKILL if kill else signal.SIGTERM, timeout=30)
        self.worker = None

    def worker_kill_main(self) -> None:
        """SIGKILL the worker's main process only; its pool children are left orphaned."""
        assert self.worker is not None
        os.kill(self.worker.pid, signal.SIGKILL)
        self.worker.wait(timeout=10)

    def kill_worker_orphans(self) -> None:
        """SIGKILL what is left of the worker's process group (after worker_kill_main)."""
        assert self.worker is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker = None

    def worker_kill_busy_child(self) -> int:
        """SIGKILL the pool child that is using the CPU (it is mid-task); returns its pid."""
        assert self.worker is not None
        pool = children(self.worker.pid)
        before = {pid: cpu_ticks(pid) for pid in pool}
        time.sleep(0.5)
        busiest = max(pool, key=lambda pid: cpu_ticks(pid) - before[pid])
        os.kill(busiest, signal.SIGKILL)
        return busiest

    def beat_start(self) -> None:
        schedule = self.tmp / "celerybeat-schedule"
        self.beat = self._spawn(
            "beat",
            [str(VENV_BIN / "celery"), "-A", "metagen", "beat", "--loglevel=INFO",
             "--schedule", str(schedule)],
        )  # fmt: skip

    def beat_stop(self) -> None:
        _stop(self.beat)
        self.beat = None

    def roles_start(self, **worker_env: str) -> None:
        self.web_start()
        self.worker_start(**worker_env)
        self.beat_start()

    def roles_stop(self) -> None:
        self.beat_stop()
        self.worker_stop()
        self.web_stop()

    # A small tmpfs, for a full temporary disk.

    def tmpfs(self, name: str, size: str) -> Path:
        folder = self.tmp / name
        folder.mkdir(exist_ok=True)
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=1777", "tmpfs", str(folder)],
            check=True,
        )
        self.mounts.append(folder)
        return folder

    def unmount_all(self) -> None:
        while self.mounts:
            folder = self.mounts.pop()
            subprocess.run(["umount", "-l", str(folder)], check=False)

    def kill_strays(self) -> None:
        """SIGKILL every process group a drill started but the servers (orphaned pool children
        of a killed worker main process, say)."""
        keep = [p for p in (self.redis, self.moto) if p is not None]
        for process in self.groups:
            if process not in keep:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
        self.groups = keep

    # Whole stack ------------------------------------------------------------------------------

    def servers_up(self) -> None:
        """Bring back anything a drill left down (a failed drill may stop mid-fault)."""
        if not self.postgres_running:
            self.postgres_start()
        self.redis_start()
        self.storage.start()

    def close(self) -> None:
        for stop in (self.beat_stop, self.worker_stop, self.web_stop):
            with contextlib.suppress(Exception):  # cleanup goes on whatever failed
                stop()
        self.storage.stop()
        _stop(self.moto)
        self.redis_stop()
        if self.pg_data.exists():
            self.postgres_stop(mode="immediate")
        for process in self.groups:  # orphaned pool children of a killed worker, say
            _stop(process, sig=signal.SIGKILL, timeout=5)
        self.unmount_all()


def record(result: dict[str, object]) -> None:
    """One JSON line per drill on stdout (pytest -s shows it) and in DRILL_RESULTS if set."""
    line = json.dumps(result, sort_keys=True)
    print(f"DRILL {line}")
    path = os.environ.get("DRILL_RESULTS")
    if path:
        with open(path, "a") as fh:
            fh.write(line + "\n")
