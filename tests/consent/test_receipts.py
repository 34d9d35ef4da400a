import json

import pytest
from django.urls import reverse

from consent.receipts import receipt_build
from consent.services import consent_grant
from tests.consent.support import stored_donation

pytestmark = pytest.mark.django_db

KANTARA_FIELDS = {
    "version",
    "jurisdiction",
    "consentTimestamp",
    "collectionMethod",
    "consentReceiptID",
    "publicKey",
    "language",
    "piiPrincipalId",
    "piiControllers",
    "policyUrl",
    "services",
    "sensitive",
    "spiCat",
}
OURS = {
    "documentVersion",
    "documentSha256",
    "action",
    "scopes",
    "scopesAdded",
    "scopesWithdrawn",
    "credit",
    "donation",
}
CONTROLLER_FIELDS = {"piiController", "contact", "address", "email", "phone", "piiControllerUrl"}
PURPOSE_FIELDS = {
    "purpose",
    "purposeCategory",
    "consentType",
    "piiCategory",
    "primaryPurpose",
    "termination",
    "thirdPartyDisclosure",
    "thirdPartyName",
}


def test_a_receipt_has_every_kantara_field_and_names_the_donor_without_their_email(
    donor, consent_document
):
    donation = stored_donation(donor)
    event = consent_grant(
        donor=donor,
        document=consent_document,
        scopes=["motion:open_release", "motion:model_training", "audio:restricted_release"],
        donation_id=donation.pk,
    )
    receipt = receipt_build(event=event, site_url="https://metagen.example/")

    assert set(receipt) == KANTARA_FIELDS | OURS
    assert set(receipt["piiControllers"][0]) == CONTROLLER_FIELDS
    [service] = receipt["services"]
    assert [p["purpose"] for p in service["purposes"]] == [
        "Open release to anyone",
        "Release to researchers under a data-use agreement",
        "Training generative models",
    ]
    assert all(set(p) == PURPOSE_FIELDS for p in service["purposes"])
    assert service["purposes"][0]["piiCategory"] == ["Motion (head, hands, body)"]
    assert receipt["consentReceiptID"] == str(event.id)
    assert receipt["piiPrincipalId"] == str(donor.public_id)
    assert (
        receipt["policyUrl"]
        == f"https://metagen.example/consent/documents/{consent_document.version}/"
    )
    assert receipt["documentSha256"] == consent_document.sha256
    assert receipt["donation"] == str(donation.pk)
    assert receipt["consentTimestamp"] == int(event.created_at.timestamp())
    assert receipt["sensitive"] is True
    # The donation followed no grant before this one, so it adds every scope.
    assert receipt["scopesAdded"] == sorted(event.scopes)
    assert receipt["scopesWithdrawn"] == []
    text = json.dumps(receipt)
    assert donor.email not in text
    assert str(donor.pk) not in {receipt["piiPrincipalId"]}


def test_the_json_receipt_downloads_as_an_attachment(client, donor, consent_document):
    event = consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])
    client.force_login(donor)

    response = client.get(reverse("consent:receipt_json", args=[event.pk]))

    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="consent-receipt-{event.pk}.json"'
    )
    body = json.loads(response.content)
    assert body["consentReceiptID"] == str(event.pk)
    assert body["action"] == "grant"
    assert donor.email not in response.content.decode()


def test_the_receipt_page_shows_the_form_version_and_hash(client, donor, consent_document):
    event = consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])
    client.force_login(donor)

    page = client.get(reverse("consent:receipt", args=[event.pk])).content.decode()

    assert str(event.pk) in page
    assert consent_document.sha256 in page
    assert "Open release to anyone" in page
