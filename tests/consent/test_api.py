import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.services import user_token_rotate
from consent.models import ConsentEvent
from consent.services import consent_grant
from donations.models import DonationStatus
from tests.consent.support import other_donor, stored_donation

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(donor):  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(donor)
    return client


@pytest.fixture
def theirs(consent_document):  # type: ignore[no-untyped-def]
    someone = other_donor()
    donation = stored_donation(someone)
    event = consent_grant(donor=someone, document=consent_document, scopes=["motion:open_release"])
    return donation, event


def test_someone_elses_events_receipts_and_donations_are_not_found(api, theirs):
    donation, event = theirs
    assert api.get(reverse("api:consent-event-detail", args=[event.pk])).status_code == 404
    assert api.get(reverse("api:consent-event-receipt", args=[event.pk])).status_code == 404
    assert api.post(reverse("api:donation-withdraw", args=[donation.pk])).status_code == 404
    response = api.post(
        reverse("api:consent-event-withdraw"), {"donation": str(donation.pk)}, format="json"
    )
    assert response.status_code == 404
    response = api.post(
        reverse("api:consent-event-list"),
        {"scopes": ["motion:open_release"], "donation": str(donation.pk)},
        format="json",
    )
    assert response.status_code == 404
    assert api.get(reverse("api:consent-event-list")).json()["results"] == []
    donation.refresh_from_db()
    assert donation.status == DonationStatus.PROCESSED


def test_the_event_list_costs_the_same_queries_for_any_number_of_events(
    api, donor, consent_document, django_assert_num_queries
):
    for _ in range(4):
        consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])
    # count, then events with their documents
    with django_assert_num_queries(2):
        body = api.get(reverse("api:consent-event-list")).json()
    assert body["count"] == 4
    assert body["results"][0]["document_version"] == consent_document.version


def test_a_script_grants_and_withdraws_with_a_token(donor, consent_document):
    key = user_token_rotate(user=donor)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    donation = stored_donation(donor)

    granted = client.post(
        reverse("api:consent-event-list"),
        {"scopes": ["motion:open_release"], "document_version": consent_document.version},
        format="json",
    )
    assert granted.status_code == 201, granted.content
    assert granted.json()["method"] == "api"

    withdrawn = client.post(reverse("api:donation-withdraw", args=[donation.pk]))
    assert withdrawn.json()["status"] == "withdrawn"
    again = client.post(reverse("api:donation-withdraw", args=[donation.pk]))
    assert again.json()["detail"] == "This donation was already withdrawn."
    assert list(ConsentEvent.objects.values_list("action", "method")) == [
        ("withdraw", "api"),
        ("grant", "api"),
    ]


def test_an_unknown_scope_is_refused_with_its_name(api, consent_document):
    response = api.post(
        reverse("api:consent-event-list"), {"scopes": ["motion:selling"]}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"scopes": {"0": ['"motion:selling" is not a valid choice.']}}


def test_the_receipt_endpoint_returns_the_receipt_json(api, donor, consent_document):
    event = consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])
    body = api.get(reverse("api:consent-event-receipt", args=[event.pk])).json()
    assert body["consentReceiptID"] == str(event.pk)
    assert body["piiPrincipalId"] == str(donor.public_id)


def test_consent_documents_are_public(consent_document):
    response = APIClient().get(reverse("api:consent-document-current"))
    assert response.status_code == 200
    assert response.json()["sha256"]


def test_session_api_writes_need_a_csrf_token(donor):
    donation = stored_donation(donor)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(donor)
    response = client.post(reverse("api:donation-withdraw", args=[donation.pk]))
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
