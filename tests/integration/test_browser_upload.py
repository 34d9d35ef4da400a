"""The upload page in headless Chromium: parts straight to moto's S3 over HTTP, a connection that
drops after the first part, a reload, and a resume that sends only the missing parts."""

import hashlib
import re

import pytest
from playwright.sync_api import expect

from consent.services import consent_grant
from donations.models import Donation, DonationStatus, UploadSession
from donations.uploads import upload_part_list
from tests.conftest import wait_for
from tests.factories import valid_bvh_over

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

MIB = 1024 * 1024


def _sign_in(page, live_server, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("donate-it-2026")
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/donations/")


def test_an_upload_cut_off_after_one_part_resumes_after_a_reload_and_is_processed(
    page, live_server, donor, consent_document, celery_worker, settings, tmp_path
):
    settings.UPLOAD_PART_SIZE = 5 * MIB  # S3's minimum; the file makes three parts
    consent_grant(
        donor=donor,
        document=consent_document,
        scopes=["motion:open_release", "motion:model_training"],
    )
    content = valid_bvh_over(10 * MIB)
    recording = tmp_path / "long-take.bvh"
    recording.write_bytes(content)

    _sign_in(page, live_server, donor.email)
    page.get_by_role("link", name="Upload a recording").click()
    # The connection "drops" for parts 2 and 3: only part 1 reaches storage.
    cut_off = re.compile(r".*[?&]partNumber=[23](&.*)?$")
    page.route(cut_off, lambda route: route.abort())
    page.get_by_label("Recording file").set_input_files(recording)
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_role("button", name="Cancel upload")).to_be_visible()

    session = wait_for(lambda: UploadSession.objects.first(), what="the upload session")
    assert (session.part_count, session.part_size) == (3, 5 * MIB)
    wait_for(
        lambda: [p.part_number for p in upload_part_list(session=session)] == [1],
        timeout=60,
        what="part 1 to be stored",
    )
    # Progress in bytes, with speed and time left once there is a rate to tell.
    expect(page.locator("#upload-status")).to_contain_text(re.compile(r"MB of 1\d(\.\d)? MB sent"))

    page.reload()  # while parts 2 and 3 still fail, so no retry of the old page slips through
    page.unroute(cut_off)
    expect(page.locator("#upload-interrupted")).to_contain_text("An upload was interrupted")
    puts: list[str] = []
    page.on("request", lambda request: request.method == "PUT" and puts.append(request.url))
    page.get_by_label("Recording file").set_input_files(recording)
    page.get_by_role("button", name="Upload", exact=True).click()
    page.wait_for_url(re.compile(r".*/donations/[0-9a-f-]{36}/$"), timeout=90_000)

    # Resumed, not restarted: the same session, and only the missing parts were sent.
    assert sorted(re.search(r"partNumber=(\d)", url).group(1) for url in puts) == ["2", "3"]
    assert UploadSession.objects.count() == 1
    page.wait_for_selector("#donation-status[data-status=processed]", timeout=120_000)
    donation = Donation.objects.get()
    assert donation.status == DonationStatus.PROCESSED
    assert donation.files.get().sha256 == hashlib.sha256(content).hexdigest()
