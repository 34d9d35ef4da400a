"""`manage.py verify_release`: re-reads every file; non-zero exit on any failure."""

import io

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError

from consent.services import consent_grant, consent_withdraw
from releases.models import ReleaseItem
from releases.services import release_build, release_create
from tests.conftest import s3_client
from tests.releases.building import MOTION_OPEN, accepted_donation, make_donor

pytestmark = pytest.mark.django_db


@pytest.fixture
def release(curator, consent_document, dataset):  # type: ignore[no-untyped-def]
    for n in range(2):
        donor = make_donor(n)
        consent_grant(donor=donor, document=consent_document, scopes=MOTION_OPEN)
        accepted_donation(donor, curator, seed=n)
    return release_build(
        release_id=release_create(dataset=dataset, version="1.0.0", curator=curator).pk
    )


def _verify(release) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    out, err = io.StringIO(), io.StringIO()
    call_command("verify_release", release.dataset.slug, release.version, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _put(key: str, body: bytes) -> None:
    s3_client().put_object(Bucket=default_storage.bucket_name, Key=key, Body=body)


def test_an_intact_release_verifies(release):
    out, err = _verify(release)
    files = release.files.count()
    assert out.strip() == f"vr-motion-open 1.0.0: {files} files and 2 items verified."
    assert err == ""


def test_a_changed_byte_in_a_shard_fails_with_its_size_and_checksum(release):
    key = f"{release.storage_prefix}data/motion-00000.parquet"
    with default_storage.open(key, "rb") as fh:
        data = bytearray(fh.read())
    data[len(data) // 2] ^= 0xFF
    _put(key, bytes(data) + b"x")
    err = io.StringIO()

    with pytest.raises(CommandError, match=r"^2 problem\(s\) in vr-motion-open 1.0.0\.$"):
        call_command("verify_release", "vr-motion-open", "1.0.0", stderr=err)
    lines = err.getvalue().splitlines()
    assert lines[0].startswith("data/motion-00000.parquet: size ")
    assert lines[1].startswith("data/motion-00000.parquet: SHA-256 ")


def test_a_missing_file_and_a_stray_file_fail(release):
    default_storage.delete(f"{release.storage_prefix}CITATION.cff")
    _put(f"{release.storage_prefix}data/extra.parquet", b"not ours")
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command("verify_release", "vr-motion-open", "1.0.0", stderr=err)
    assert err.getvalue().splitlines() == [
        "CITATION.cff: missing",
        "data/extra.parquet: not part of the release",
    ]


def test_an_item_whose_recorded_consent_event_does_not_cover_the_scopes_fails(release):
    item = release.items.order_by("recording_pseudonym").first()
    withdrawal = consent_withdraw(donor=item.donation.donor, donation_id=item.donation_id)
    # Tampering with the evidence: the item now claims the withdrawal admitted it.
    ReleaseItem.objects.filter(pk=item.pk).update(consent_event=withdrawal)
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command("verify_release", "vr-motion-open", "1.0.0", stderr=err)
    who = f"recording {item.recording_pseudonym}"
    assert err.getvalue().splitlines() == [
        f"{who}: consent event is not a grant",
        f"{who}: consent event is later than the build",
        f"{who}: consent does not cover the dataset's scopes",
    ]


def test_an_unknown_release_fails():
    with pytest.raises(CommandError, match=r"^No release 9.9.9 of nothing\.$"):
        call_command("verify_release", "nothing", "9.9.9")
