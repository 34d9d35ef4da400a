import pytest
from django.urls import reverse

from consent.models import ConsentDocument
from consent.scopes import ALL_SCOPES

pytestmark = pytest.mark.django_db


def test_a_curator_publishes_the_next_version_and_cannot_edit_it_afterwards(
    client, curator, consent_document
):
    newest = ConsentDocument.objects.order_by("-version").first()
    client.force_login(curator)

    response = client.post(
        reverse("admin:consent_consentdocument_add"),
        {
            "title": "Consent to donate VR recordings",
            "text": "## New\n\nClearer words.\n",
            "summary_of_changes": "Clearer words.",
            "effective_at_0": "2026-01-01",
            "effective_at_1": "00:00:00",
            "scopes_offered": list(ALL_SCOPES),
        },
    )

    assert response.status_code == 302, response.content
    published = ConsentDocument.objects.order_by("-version").first()
    assert published.version == newest.version + 1
    assert published.text == "## New\n\nClearer words."  # the form strips the last newline
    assert published.sha256 == ConsentDocument.hash_text(published.text)
    assert published.published_by == curator
    change_url = reverse("admin:consent_consentdocument_change", args=[published.pk])
    client.post(change_url, {"title": "Edited", "text": "Edited"})
    published.refresh_from_db()
    assert published.title == "Consent to donate VR recordings"


def test_publishing_without_a_summary_of_changes_is_refused(client, curator, consent_document):
    client.force_login(curator)
    response = client.post(
        reverse("admin:consent_consentdocument_add"),
        {
            "title": "Consent",
            "text": "Other words.",
            "summary_of_changes": "",
            "effective_at_0": "2026-01-01",
            "effective_at_1": "00:00:00",
            "scopes_offered": ["motion:open_release"],
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["summary_of_changes"] == [
        "Say what changed since the previous version; donors see it."
    ]
