"""Completing and cancelling one upload at once, against PostgreSQL and real storage (moto's S3
over HTTP, or the local disk): each thread has its own database connection and transactions, as
separate web processes would. Whatever wins, no object outlives a cancelled upload."""

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from consent.services import consent_grant
from donations.models import Donation, DonationFile, DonationStatus, UploadSession
from donations.services import donation_transition
from metagen.celery import app
from tests.conftest import bucket_keys, s3_client, wait_for
from tests.donations.uploading import complete, open_upload, send_part, use_local_storage

pytestmark = pytest.mark.django_db(transaction=True)

COMPLETES, ABORTS = 4, 2
ROUNDS = 6


@pytest.fixture(autouse=True)
def _no_lingering_tasks():  # type: ignore[no-untyped-def]
    """Completed uploads enqueue real processing messages and no worker runs here: purge them
    so that no later test finds them in the broker."""
    yield
    app.control.purge()


@pytest.fixture
def donor_client(donor, consent_document):
    consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])
    client = Client()
    client.force_login(donor)
    return client


def _race(works: list[Callable[[], object]]) -> list[object]:
    """Run each of `works` in its own thread, released together; each result or exception."""
    barrier = threading.Barrier(len(works))
    results: list[object] = [None] * len(works)

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = works[i]()
        except Exception as exc:  # the test inspects what each thread got
            results[i] = exc
        finally:
            connection.close()

    pool = [threading.Thread(target=run, args=(i,)) for i in range(len(works))]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return results


def _complete_and_abort_at_once(donor, session_id: str) -> list[object]:  # type: ignore[no-untyped-def]
    clients = []
    for _ in range(COMPLETES + ABORTS):
        client = Client()
        client.force_login(donor)
        clients.append(client)
    abort_url = reverse("api:upload-abort", args=[session_id])

    def completing(client: Client) -> Callable[[], object]:
        return lambda: complete(client, session_id).status_code

    def aborting(client: Client) -> Callable[[], object]:
        return lambda: client.post(abort_url).status_code

    # Interleaved, so that cancels land among the completions.
    works = [completing(c) for c in clients[:COMPLETES]]
    for i, client in enumerate(clients[COMPLETES:]):
        works.insert(1 + 2 * i, aborting(client))
    return _race(works)


def _open_multipart_keys() -> set[str]:
    bucket = settings.STORAGES["default"]["OPTIONS"]["bucket_name"]
    uploads = s3_client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    return {u["Key"] for u in uploads}


def _assert_consistent(donation_id: str, stored_keys: set[str], open_keys: set[str]) -> str:
    """Uploaded with its file row and object, or abandoned with nothing left in storage.

    An uploaded donation is committed and queued, so a session worker may already have moved it
    on (processing it, or failing it where the worker's storage is not this test's): what counts
    is that it reached `uploaded`, as its history says."""
    donation = Donation.objects.get(pk=donation_id)
    upload = UploadSession.objects.get(donation=donation)
    mine = {
        k for k in stored_keys if k.startswith((f"raw/{donation.pk}/", f"uploads/{upload.pk}/"))
    }
    if donation.history.filter(to_status=DonationStatus.UPLOADED).exists():
        [file] = DonationFile.objects.filter(donation=donation)
        assert upload.status == UploadSession.Status.COMPLETED
        assert mine == {file.storage_key}, mine
        outcome = DonationStatus.UPLOADED
    else:
        assert donation.status == DonationStatus.ABANDONED
        assert upload.status == UploadSession.Status.ABORTED
        assert not DonationFile.objects.filter(donation=donation).exists()
        assert mine == set(), f"an abandoned upload left {sorted(mine)}"
        outcome = DonationStatus.ABANDONED
    assert upload.storage_key not in open_keys
    return outcome


def test_parallel_completes_and_aborts_on_s3_leave_an_uploaded_or_an_empty_donation(
    donor, donor_client
):
    content = b"HIERARCHY\n" * 3000
    outcomes = []
    for _ in range(ROUNDS):
        opened = open_upload(donor_client, ("motion", content, "bvh"))
        [session] = opened["sessions"]
        send_part(donor_client, session, content, 1)

        answers = _complete_and_abort_at_once(donor, session["id"])

        assert set(answers) <= {200, 400}, answers
        outcomes.append((opened["donation"], session["id"]))
    keys, open_keys = set(bucket_keys()), _open_multipart_keys()
    statuses = [_assert_consistent(donation_id, keys, open_keys) for donation_id, _ in outcomes]
    assert set(statuses) <= {DonationStatus.UPLOADED, DonationStatus.ABANDONED}


def _local_keys(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_parallel_completes_and_aborts_on_local_disk_leave_an_uploaded_or_an_empty_donation(
    donor, donor_client, settings, tmp_path
):
    root = use_local_storage(settings, tmp_path)
    content = bytes(range(256)) * 1200  # 307,200 bytes: five parts of 64 KiB or less
    outcomes = []
    for _ in range(ROUNDS):
        opened = open_upload(donor_client, ("motion", content, "bvh"))
        [session] = opened["sessions"]
        for number in range(1, session["part_count"] + 1):
            send_part(donor_client, session, content, number)

        answers = _complete_and_abort_at_once(donor, session["id"])

        assert set(answers) <= {200, 400}, answers
        outcomes.append((opened["donation"], session["id"]))
    keys = _local_keys(root)
    for donation_id, _ in outcomes:
        _assert_consistent(donation_id, keys, set())


def test_cancelling_deletes_an_object_a_completion_assembled_before_its_database_write(
    donor_client,
):
    content = b"HIERARCHY\n" * 100
    opened = open_upload(donor_client, ("motion", content, "bvh"))
    [session] = opened["sessions"]
    send_part(donor_client, session, content, 1)
    upload = UploadSession.objects.get(pk=session["id"])
    # What a completion does in storage before its transaction: the object exists, the
    # session is still open.
    client = s3_client()
    bucket = settings.STORAGES["default"]["OPTIONS"]["bucket_name"]
    [part] = client.list_parts(Bucket=bucket, Key=upload.storage_key, UploadId=upload.s3_upload_id)[
        "Parts"
    ]
    client.complete_multipart_upload(
        Bucket=bucket,
        Key=upload.storage_key,
        UploadId=upload.s3_upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert upload.storage_key in bucket_keys()

    cancelled = donor_client.post(reverse("api:upload-abort", args=[upload.pk]))

    assert cancelled.status_code == 200
    assert cancelled.json()["donation_status"] == DonationStatus.ABANDONED
    assert not [k for k in bucket_keys() if k.startswith(f"raw/{upload.donation_id}/")]


def test_a_completion_cancelled_while_it_assembled_deletes_what_it_assembled(donor, donor_client):
    content = b"HIERARCHY\n" * 100
    opened = open_upload(donor_client, ("motion", content, "bvh"))
    [session] = opened["sessions"]
    send_part(donor_client, session, content, 1)
    upload = UploadSession.objects.get(pk=session["id"])
    locked = threading.Event()
    answers: list[object] = []

    def cancel_once_assembled() -> None:
        # Holds the donation's row lock, so the completion assembles and then waits for it;
        # then records the cancel as the abort service does (its storage clean-up left out:
        # the completion alone must remove its object).
        try:
            with transaction.atomic():
                donation = Donation.objects.select_for_update().get(pk=upload.donation_id)
                locked.set()
                wait_for(lambda: upload.storage_key in bucket_keys(), what="the assembled object")
                UploadSession.objects.filter(pk=upload.pk).update(
                    status=UploadSession.Status.ABORTED
                )
                donation_transition(donation=donation, to_status=DonationStatus.ABANDONED)
        finally:
            locked.set()
            connection.close()

    def completing() -> None:
        client = Client()
        client.force_login(donor)
        locked.wait()
        try:
            answers.append(complete(client, session["id"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=cancel_once_assembled), threading.Thread(target=completing)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    [answer] = answers
    assert answer.status_code == 400  # type: ignore[attr-defined]
    assert answer.json()["detail"] == "This upload was cancelled. Please start again."  # type: ignore[attr-defined]
    assert not [k for k in bucket_keys() if k.startswith(f"raw/{upload.donation_id}/")]
    assert Donation.objects.get(pk=upload.donation_id).status == DonationStatus.ABANDONED
