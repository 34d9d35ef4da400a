"""Invariant 2 of DESIGN.md: a donation withdrawn before a build is in no file of that build."""

import io

import pyarrow.parquet as pq
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from consent.models import ConsentEvent
from consent.services import consent_grant
from donations.services import donation_create_from_upload, donation_review, donation_withdraw
from processing.motion.synthetic import synthetic_bvh
from processing.services import donation_process
from releases.models import Release
from releases.pseudonyms import pseudonym
from releases.services import release_build, release_create

pytestmark = pytest.mark.django_db


def _accepted_donation(donor, curator, seed):  # type: ignore[no-untyped-def]
    upload = SimpleUploadedFile("take.bvh", synthetic_bvh(seconds=2, fps=30, seed=seed).encode())
    donation = donation_create_from_upload(donor=donor, motion_file=upload)
    donation_process(donation_id=str(donation.pk))
    donation.refresh_from_db()
    return donation_review(donation=donation, curator=curator, accept=True)


def test_a_donation_withdrawn_before_a_build_is_in_no_file_of_it(
    donor, curator, consent_document, dataset, django_capture_on_commit_callbacks
):
    consent_grant(donor=donor, document=consent_document, scopes=dataset.required_scopes)
    kept = _accepted_donation(donor, curator, seed=1)
    withdrawn = _accepted_donation(donor, curator, seed=2)
    with django_capture_on_commit_callbacks(execute=True):
        donation_withdraw(donor=donor, donation=withdrawn, method=ConsentEvent.Method.WEB)

    release = release_create(dataset=dataset, version="1.0.0", curator=curator)
    release = release_build(release_id=release.pk)

    assert release.status == Release.Status.BUILT
    assert list(release.items.values_list("donation_id", flat=True)) == [kept.pk]
    gone = pseudonym(secret=dataset.pseudonym_secret, kind="recording", value=withdrawn.pk)
    present = pseudonym(secret=dataset.pseudonym_secret, kind="recording", value=kept.pk)
    seen_present = False
    for release_file in release.files.all():
        with default_storage.open(release_file.storage_key, "rb") as fh:
            data = fh.read()
        if release_file.path.endswith(".parquet"):
            table = pq.read_table(io.BytesIO(data))
            text = " ".join(str(v) for column in table.columns for v in column.to_pylist())
        else:
            text = data.decode("utf-8")
        assert gone not in text, release_file.path
        assert str(withdrawn.pk) not in text, release_file.path
        seen_present = seen_present or present in text
    assert seen_present
