"""The donor's side of the journey, clicked through in headless Chromium against a live server,
moto's S3 over HTTP and a real Celery worker: sign up, consent, an upload cut off and resumed,
processing, the replay, and withdrawal."""

import hashlib
import re

import pytest
from playwright.sync_api import expect

from donations.models import Donation, UploadSession
from donations.uploads import upload_part_list
from tests.conftest import bucket_keys, wait_for
from tests.factories import valid_bvh_over

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "a-long-donor-passphrase-2026"
MIB = 1024 * 1024


def test_a_new_donor_signs_up_consents_uploads_with_a_resume_previews_and_withdraws(
    page, live_server, mailoutbox, celery_worker, consent_document, tmp_path, settings
):
    page.goto(live_server.url)
    page.get_by_role("link", name="Sign up to donate").click()
    page.get_by_label("Email").fill("new-donor@example.org")
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    page.wait_for_url("**/accounts/confirm-email/")

    [message] = mailoutbox
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/donations/")

    page.get_by_role("link", name="Read the consent form").click()
    page.get_by_label("Motion (head, hands, body): Open release to anyone").check()
    page.get_by_label("Motion (head, hands, body): Training generative models").check()
    page.get_by_label("I have read the consent form", exact=False).check()
    page.get_by_role("button", name="Give consent").click()
    page.wait_for_url("**/donations/")
    assert "Your consent is recorded" in page.content()

    # A recording of three 5 MiB parts; the connection drops after the first one.
    settings.UPLOAD_PART_SIZE = 5 * MIB
    content = valid_bvh_over(10 * MIB)
    recording = tmp_path / "session.bvh"
    recording.write_bytes(content)
    page.get_by_role("link", name="Upload a recording").click()
    cut_off = re.compile(r".*[?&]partNumber=[23](&.*)?$")
    page.route(cut_off, lambda route: route.abort())
    page.get_by_label("Recording file").set_input_files(recording)
    page.get_by_role("button", name="Upload", exact=True).click()
    session = wait_for(lambda: UploadSession.objects.first(), what="the upload session")
    wait_for(
        lambda: [p.part_number for p in upload_part_list(session=session)] == [1],
        timeout=60,
        what="part 1 to be stored",
    )

    # Back after a reload: the same file resumes from the parts already stored.
    page.reload()
    page.unroute(cut_off)
    expect(page.locator("#upload-interrupted")).to_contain_text("An upload was interrupted")
    page.get_by_label("Recording file").set_input_files(recording)
    page.get_by_role("button", name="Upload", exact=True).click()
    page.wait_for_url(re.compile(r".*/donations/[0-9a-f-]{36}/$"), timeout=90_000)
    assert UploadSession.objects.count() == 1

    # The page follows the status by itself and shows the replay when processing settles.
    page.wait_for_selector("#donation-status[data-status=processed]", timeout=120_000)
    donation = Donation.objects.get()
    assert donation.files.get().sha256 == hashlib.sha256(content).hexdigest()
    assert "What researchers will see" in page.content()
    page.wait_for_selector("#replay[data-state=paused]")
    page.get_by_role("button", name="Play").click()
    wait_for(
        lambda: page.evaluate("Number(document.querySelector('#replay').dataset.frame) >= 5"),
        what="the replay to advance",
    )
    page.get_by_role("button", name="Pause").click()

    # Taking it back: two clicks, told first what withdrawal can and cannot undo.
    page.get_by_role("link", name="Withdraw consent for this donation").click()
    assert "cannot be recalled" in page.inner_text("main")
    page.get_by_role("button", name="Yes, withdraw it").click()
    page.wait_for_url(f"**/donations/{donation.pk}/")
    expect(page.locator("#donation-status")).to_have_attribute("data-status", "withdrawn")
    wait_for(lambda: bucket_keys() == [], timeout=30, what="the donation's objects to be deleted")
