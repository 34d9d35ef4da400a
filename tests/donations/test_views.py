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
    assert anonymous.get(reverse("api:donation-list")).status_code == 403


def test_uploading_without_consent_is_refused_with_a_reason(client, donor):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(donor)
    response = client.post(
        reverse("donations:create"),
        {"motion_file": SimpleUploadedFile("a.bvh", b"HIERARCHY\n")},
        follow=True,
    )
    assert b"Please give your consent before donating a recording." in response.content
    assert not Donation.objects.exists()


def test_curation_pages_are_for_curators_only(client, donor):
    client.force_login(donor)
    assert client.get(reverse("donations:curation_queue")).status_code == 403
