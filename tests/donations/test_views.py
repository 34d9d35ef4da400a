import pytest
from django.test import Client
from django.urls import reverse

from accounts.services import user_create_verified
from donations.models import Donation

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_donation():
    other = user_create_verified(email="someone-else@example.org", password="pw-of-someone-else-1")
    return Donation.objects.create(donor=other)


def test_a_donor_gets_404_for_someone_elses_donation_page_and_api(client, donor, other_donation):
    client.force_login(donor)
    assert client.get(reverse("donations:detail", args=[other_donation.pk])).status_code == 404
    assert client.get(reverse("api:donation-detail", args=[other_donation.pk])).status_code == 404
    listing = client.get(reverse("api:donation-list")).json()
    assert listing["results"] == []


def test_donation_pages_and_api_need_a_login(other_donation):
    anonymous = Client()
    page = anonymous.get(reverse("donations:detail", args=[other_donation.pk]))
    assert page.status_code == 302
    assert page.url.startswith(reverse("account_login"))
    assert anonymous.get(reverse("api:donation-list")).status_code == 401


def test_the_upload_page_asks_for_consent_first_and_the_old_form_url_is_gone(client, donor):
    client.force_login(donor)
    page = client.get(reverse("donations:upload"))
    assert page.status_code == 200
    assert b"Before you donate, please read the consent form" in page.content
    assert b'id="upload-form"' not in page.content
    assert client.post("/donations/new/").status_code == 404


def test_the_upload_page_offers_audio_only_when_consent_covers_it(client, donor, consent_document):
    from consent.services import consent_grant

    consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])
    client.force_login(donor)
    page = client.get(reverse("donations:upload")).content.decode()
    assert '<label for="motion-file">Recording file</label>' in page
    assert 'id="audio-file"' not in page
    assert "Your consent does not cover voice audio" in page
    assert 'id="upload-strings" type="application/json"' in page
    assert "<script>" not in page  # no inline script: the client is static/js/upload.js


def test_curation_pages_are_for_curators_only(client, donor):
    client.force_login(donor)
    assert client.get(reverse("donations:curation_queue")).status_code == 403
