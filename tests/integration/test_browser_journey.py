"""The donor's side of the journey, clicked through in headless Chromium against a live server
and a real Celery worker."""

import re

import pytest

from processing.motion.synthetic import synthetic_bvh

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "a-long-donor-passphrase-2026"


def test_a_new_donor_signs_up_consents_uploads_and_sees_it_processed(
    page, live_server, mailoutbox, celery_worker, consent_document, tmp_path
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

    recording = tmp_path / "session.bvh"
    recording.write_text(synthetic_bvh(seconds=3, fps=60, seed=3))
    page.get_by_role("link", name="Upload a recording").click()
    page.get_by_label("Recording file").set_input_files(recording)
    page.get_by_role("button", name="Upload", exact=True).click()
    page.wait_for_url(re.compile(r".*/donations/[0-9a-f-]{36}/$"))

    # The page follows the status by itself and reloads when processing settles.
    page.wait_for_selector("#donation-status[data-status=processed]", timeout=90_000)
    assert "What researchers will see" in page.content()
    assert "3.00 s" in page.inner_text("main")
