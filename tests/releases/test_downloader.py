"""tools/metagen_download.py, run as a separate process (standard library only: `-I -S` keeps
site-packages out) against the live server and the moto bucket."""

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from rest_framework.authtoken.models import Token

from accounts.services import user_create_verified
from releases.access import dua_accept, dua_sha256
from releases.models import Download
from tests.factories import DatasetFactory
from tests.releases.access_support import (
    accepted_donation,
    payload,
    published_release,
    restricted_dataset,
)

pytestmark = pytest.mark.django_db(transaction=True)

DOWNLOADER = Path(__file__).resolve().parents[2] / "tools" / "metagen_download.py"
SHARD = "data/motion-00000.parquet"
FILES = {
    SHARD: payload(3 * 1024 * 1024 + 11, seed=7),
    "recordings.parquet": payload(5000, seed=8),
    "manifest.json": b'{"files": []}\n',
}


def _run(live_server, dataset: str, dest: Path, *extra: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            str(DOWNLOADER),
            live_server.url,
            dataset,
            "1.0.0",
            "--dest",
            str(dest),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def open_release(curator, consent_document):  # type: ignore[no-untyped-def]
    return published_release(
        dataset=DatasetFactory(),
        curator=curator,
        donations=[accepted_donation(consent_document)],
        files=FILES,
    )


def _assert_complete(dest: Path) -> None:
    for path, data in FILES.items():
        assert (dest / path).read_bytes() == data, path
    assert not list(dest.rglob("*.part"))


def test_the_downloader_fetches_and_verifies_every_file(live_server, open_release, tmp_path):
    result = _run(live_server, "vr-motion-open", tmp_path / "out")
    assert result.returncode == 0, result.stdout + result.stderr
    _assert_complete(tmp_path / "out")
    assert f"all 3 files verified in {tmp_path / 'out'}" in result.stdout
    assert Download.objects.count() == 3

    again = _run(live_server, "vr-motion-open", tmp_path / "out")
    assert again.returncode == 0
    assert f"ok       {SHARD} (already complete)" in again.stdout
    assert Download.objects.count() == 3  # nothing fetched twice


def test_an_interrupted_download_resumes_where_it_stopped(live_server, open_release, tmp_path):
    dest = tmp_path / "out"
    stopped = _run(live_server, "vr-motion-open", dest, "--stop-after-bytes", "1500000")
    assert stopped.returncode == 3, stopped.stdout + stopped.stderr
    assert "stopped: run the same command again to resume" in stopped.stdout
    part = dest / "data" / "motion-00000.parquet.part"
    assert part.stat().st_size == 1_500_000
    assert not (dest / SHARD).exists()

    resumed = _run(live_server, "vr-motion-open", dest)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"resuming {SHARD} at byte 1500000" in resumed.stdout
    _assert_complete(dest)


def test_a_file_corrupted_in_storage_fails_verification(live_server, open_release, tmp_path):
    key = f"{open_release.storage_prefix}recordings.parquet"
    default_storage.delete(key)
    tampered = bytearray(FILES["recordings.parquet"])
    tampered[100] ^= 0xFF
    default_storage.save(key, ContentFile(bytes(tampered)))

    result = _run(live_server, "vr-motion-open", tmp_path / "out")
    assert result.returncode == 1
    assert "FAILED   recordings.parquet: its SHA-256 does not match the manifest" in result.stdout
    assert "1 file(s) failed: recordings.parquet" in result.stderr
    assert not (tmp_path / "out" / "recordings.parquet").exists()
    assert (tmp_path / "out" / SHARD).read_bytes() == FILES[SHARD]


def test_a_corrupted_local_copy_is_fetched_again(live_server, open_release, tmp_path):
    dest = tmp_path / "out"
    assert _run(live_server, "vr-motion-open", dest).returncode == 0
    damaged = bytearray((dest / SHARD).read_bytes())
    damaged[-1] ^= 0x01
    (dest / SHARD).write_bytes(bytes(damaged))

    result = _run(live_server, "vr-motion-open", dest)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"corrupt  {SHARD}: fetching it again" in result.stdout
    _assert_complete(dest)


def test_a_restricted_release_needs_the_agreement_then_downloads_through_signed_urls(
    live_server, curator, consent_document, tmp_path
):
    dataset = restricted_dataset()
    published_release(
        dataset=dataset,
        curator=curator,
        donations=[accepted_donation(consent_document)],
        files=FILES,
    )
    researcher = user_create_verified(email="researcher@example.org", password="research-2026")
    token = Token.objects.create(user=researcher).key

    anonymous = _run(live_server, "vr-motion-restricted", tmp_path / "a")
    assert anonymous.returncode == 1
    refused = _run(live_server, "vr-motion-restricted", tmp_path / "b", "--token", token)
    assert refused.returncode == 1
    assert "error: 403: accept the dataset's data-use agreement first" in refused.stderr
    assert not (tmp_path / "b").exists()

    dua_accept(dataset=dataset, user=researcher, dua_sha256_seen=dua_sha256(dataset=dataset))
    result = _run(live_server, "vr-motion-restricted", tmp_path / "c", "--token", token)
    assert result.returncode == 0, result.stdout + result.stderr
    _assert_complete(tmp_path / "c")
    assert Download.objects.filter(user=researcher, via="signed-url").count() == 3
    digest = hashlib.sha256((tmp_path / "c" / SHARD).read_bytes()).hexdigest()
    assert digest == hashlib.sha256(FILES[SHARD]).hexdigest()


def test_a_real_build_downloads_verifies_and_loads_with_the_pyarrow_snippet(
    live_server, curator, consent_document, tmp_path, client
):
    """A release built by the real build (inline), published, fetched by the downloader; the
    pyarrow snippet of the release page then reads what it fetched."""
    import json

    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    from consent.services import consent_grant
    from metagen.celery import app
    from releases.services import release_build, release_create, release_publish
    from tests.releases.building import MOTION_OPEN, make_donor
    from tests.releases.building import accepted_donation as built_donation

    dataset = DatasetFactory()
    for n in range(2):
        donor = make_donor(n)
        consent_grant(donor=donor, document=consent_document, scopes=MOTION_OPEN)
        built_donation(donor, curator, seed=n)
    release = release_create(dataset=dataset, version="1.0.0", curator=curator)
    release = release_build(release_id=release.pk)
    release_publish(release=release, curator=curator)
    # Everything ran inline: no task queued on commit above may outlive this test.
    app.control.purge()

    dest = tmp_path / "vr-motion-open-1.0.0"
    result = _run(live_server, "vr-motion-open", dest)
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((dest / "manifest.json").read_text())
    for entry in manifest["files"]:
        data = (dest / entry["path"]).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (entry["size"], entry["sha256"])

    page = client.get("/datasets/vr-motion-open/1.0.0/").content.decode()
    assert "<dt>Recordings</dt><dd>2</dd>" in page
    assert "<dt>Contributors</dt><dd>2</dd>" in page
    assert "<dt>Devices</dt><dd>full-body: 2</dd>" in page
    assert 'ds.dataset("vr-motion-open-1.0.0/data", format="parquet").to_table()' in page
    motion = ds.dataset(str(dest / "data"), format="parquet").to_table()
    recordings = pq.read_table(dest / "recordings.parquet")
    assert recordings.num_rows == 2
    assert set(motion.column("recording_id").to_pylist()) == set(
        recordings.column("recording_id").to_pylist()
    )
