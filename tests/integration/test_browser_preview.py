"""The donor's 3D replay of their anonymized motion, and live status, in headless Chromium
against a live server and a real Celery worker."""

import hashlib
import os
import uuid

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.services import user_create_verified
from consent.services import consent_grant
from donations.models import Donation, DonationFile, DonationStatus
from donations.services import donation_create_from_upload
from processing.motion.synthetic import synthetic_bvh
from processing.tasks import process_donation
from tests.conftest import browser_sign_in, wait_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

PLAYER = "#replay"
# Set to a folder to keep screenshots of the replay for a look by eye.
PAGE_SHOTS = os.environ.get("REPLAY_SCREENSHOTS", "")


def _bvh() -> bytes:
    return synthetic_bvh(seconds=3, fps=60, seed=11).encode()


def _processed_donation(donor, consent_document) -> Donation:  # type: ignore[no-untyped-def]
    consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])
    donation = donation_create_from_upload(
        donor=donor, motion_file=SimpleUploadedFile("take.bvh", _bvh())
    )

    def settled() -> str | None:
        status = Donation.objects.values_list("status", flat=True).get(pk=donation.pk)
        return status if status not in {"uploaded", "processing"} else None

    assert wait_for(settled, timeout=90, what="processing to settle") == "processed"
    return Donation.objects.get(pk=donation.pk)


def _frame(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.get_attribute(PLAYER, "data-frame"))


def test_the_replay_plays_and_scrubs_the_anonymized_motion(
    page, live_server, celery_worker, donor, consent_document
):
    donation = _processed_donation(donor, consent_document)
    browser_sign_in(page, live_server, donor)

    page.goto(f"{live_server.url}/donations/{donation.pk}/")
    page.wait_for_selector(f"{PLAYER}[data-state=paused]")
    assert page.get_attribute(PLAYER, "data-renderer") in {"webgl", "2d"}
    assert page.locator(f"{PLAYER} canvas").count() == 1
    assert _frame(page) == 0
    assert page.inner_text(f"{PLAYER} [data-time]") == "0.00 s / 3.00 s"
    assert page.inner_text(f"{PLAYER} [data-frame-label]") == "1 / 90"

    play = page.get_by_role("button", name="Play")
    play.click()
    wait_for(
        lambda: page.evaluate(f"Number(document.querySelector('{PLAYER}').dataset.frame) >= 10"),
        what="the replay to advance",
    )
    page.get_by_role("button", name="Pause").click()
    paused_at = _frame(page)
    assert page.get_attribute(PLAYER, "data-state") == "paused"
    assert page.get_attribute(f"{PLAYER} [data-play]", "aria-pressed") == "false"
    assert paused_at >= 10

    scrubber = page.get_by_label("Position in the recording")
    scrubber.fill("45")
    assert _frame(page) == 45
    # Preview frame 45 is source frame 91 of 0..179 (90 frames spread over 180).
    assert page.inner_text(f"{PLAYER} [data-time]") == "1.52 s / 3.00 s"
    # Keyboard alone: the scrubber jumps to the end and back to the start.
    scrubber.press("End")
    assert _frame(page) == 89
    assert page.inner_text(f"{PLAYER} [data-frame-label]") == "90 / 90"
    scrubber.press("Home")
    assert _frame(page) == 0

    # Play from the end starts over, and playback runs to the end and stops by itself.
    scrubber.press("End")
    page.get_by_role("button", name="Play").click()
    wait_for(
        lambda: page.evaluate(f"document.querySelector('{PLAYER}').dataset.frame !== '89'"),
        what="the replay to advance",
    )
    page.wait_for_selector(f"{PLAYER}[data-state=paused]", timeout=20_000)
    assert _frame(page) == 89

    if PAGE_SHOTS:
        page.screenshot(path=f"{PAGE_SHOTS}/replay-webgl.png", full_page=True)
    facts = page.inner_text("#donation-facts")
    assert "3.00 s" in facts
    assert "60.00 fps" in facts


def test_another_donor_gets_404_for_the_page_the_preview_and_the_api(
    page, live_server, celery_worker, donor, consent_document
):
    donation = _processed_donation(donor, consent_document)
    other = user_create_verified(email="donor-b@example.org", password="pw-of-donor-b-2026")
    browser_sign_in(page, live_server, other)

    for path in (
        f"/donations/{donation.pk}/",
        f"/donations/{donation.pk}/preview.json",
        f"/api/donations/{donation.pk}/",
        f"/api/donations/{donation.pk}/preview/",
    ):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 404, path
    # The owner gets the same preview the replay loads.
    browser_sign_in(page, live_server, donor)
    response = page.goto(f"{live_server.url}/donations/{donation.pk}/preview.json")
    assert response.status == 200
    assert response.json()["facts"]["frame_count"] == 180


def _uploaded_not_queued(donor) -> Donation:  # type: ignore[no-untyped-def]
    """An uploaded donation whose processing the test starts itself, once the page is open."""
    data = _bvh()
    donation = Donation.objects.create(donor=donor, status=DonationStatus.UPLOADED)
    file_id = uuid.uuid4()
    key = f"raw/{donation.pk}/{file_id}"
    default_storage.save(key, ContentFile(data, name="motion"))
    DonationFile.objects.create(
        id=file_id,
        donation=donation,
        kind=DonationFile.Kind.MOTION,
        storage_key=key,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    return donation


def test_the_page_follows_processing_and_reveals_the_replay_without_a_reload(
    page, live_server, celery_worker, donor, consent_document
):
    consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])
    donation = _uploaded_not_queued(donor)
    browser_sign_in(page, live_server, donor)
    page.goto(f"{live_server.url}/donations/{donation.pk}/")
    assert page.inner_text("#donation-status") == "Uploaded"
    assert page.locator(PLAYER).count() == 0
    page.evaluate("window.notReloaded = true")

    process_donation.delay(str(donation.pk))

    page.wait_for_selector(f"{PLAYER}[data-state=paused]", timeout=90_000)
    assert page.evaluate("window.notReloaded") is True
    assert page.inner_text("#donation-status") == "Processed"
    timeline = page.inner_text("#timeline")
    assert "Processing" in timeline
    assert "Processed" in timeline
    page.get_by_role("button", name="Play").click()
    wait_for(
        lambda: page.evaluate(f"Number(document.querySelector('{PLAYER}').dataset.frame) > 0"),
        what="the replay to advance",
    )


def test_the_dashboard_updates_every_row_in_progress_without_a_reload(
    page, live_server, celery_worker, donor, consent_document
):
    consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])
    first, second = _uploaded_not_queued(donor), _uploaded_not_queued(donor)
    browser_sign_in(page, live_server, donor)
    page.goto(f"{live_server.url}/donations/")
    page.evaluate("window.notReloaded = true")

    for donation in (first, second):
        process_donation.delay(str(donation.pk))

    for donation in (first, second):
        row = f"tr[data-donation='{donation.pk}']"
        page.wait_for_selector(f"{row} [data-status=processed]", timeout=90_000)
        assert page.inner_text(f"{row} [data-facts]") == "BVH · 3.0 s · 60 fps"
        assert page.inner_text(f"{row} [data-next-step]") == (
            "Look at the preview; a curator will review it."
        )
    assert page.evaluate("window.notReloaded") is True


def test_without_webgl_the_replay_is_drawn_flat_and_the_controls_still_work(
    page, live_server, celery_worker, donor, consent_document
):
    donation = _processed_donation(donor, consent_document)
    browser_sign_in(page, live_server, donor)
    # A browser with no WebGL at all (no GPU and no software fallback).
    page.add_init_script(
        """const getContext = HTMLCanvasElement.prototype.getContext;
        HTMLCanvasElement.prototype.getContext = function (kind, ...rest) {
          return kind.startsWith("webgl") ? null : getContext.call(this, kind, ...rest);
        };"""
    )

    page.goto(f"{live_server.url}/donations/{donation.pk}/")
    page.wait_for_selector(f"{PLAYER}[data-state=paused]")

    assert page.get_attribute(PLAYER, "data-renderer") == "2d"
    assert page.is_visible(f"{PLAYER} [data-fallback]")
    page.get_by_role("button", name="Play").click()
    wait_for(
        lambda: page.evaluate(f"Number(document.querySelector('{PLAYER}').dataset.frame) >= 5"),
        what="the replay to advance",
    )
    page.get_by_role("button", name="Pause").click()  # else playback moves on past the jump
    page.get_by_label("Position in the recording").fill("30")
    assert _frame(page) == 30
    if PAGE_SHOTS:
        page.screenshot(path=f"{PAGE_SHOTS}/replay-2d.png")
