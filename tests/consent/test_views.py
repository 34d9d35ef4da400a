import pytest
from django.test import Client
from django.urls import reverse

from consent.models import ConsentDocument, ConsentEvent
from consent.services import consent_document_publish, consent_grant
from donations.models import DonationStatus
from tests.conftest import bucket_keys
from tests.consent.support import other_donor, stored_donation

pytestmark = pytest.mark.django_db


@pytest.fixture
def others_event(consent_document):  # type: ignore[no-untyped-def]
    someone = other_donor()
    return consent_grant(donor=someone, document=consent_document, scopes=["motion:open_release"])


@pytest.mark.parametrize("name", ["consent:receipt", "consent:receipt_json"])
def test_someone_elses_receipt_is_not_found(client, donor, others_event, name):
    client.force_login(donor)
    assert client.get(reverse(name, args=[others_event.pk])).status_code == 404


def test_someone_elses_donation_cannot_be_withdrawn_or_consented_for(client, donor):
    theirs = stored_donation(other_donor())
    client.force_login(donor)

    assert client.get(reverse("donations:withdraw", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("donations:withdraw", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("consent:form"), {"donation": theirs.pk}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == DonationStatus.PROCESSED


def test_the_history_lists_only_the_donors_own_events_with_receipt_links(
    client, donor, consent_document, others_event, django_assert_num_queries
):
    mine = [
        consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])
        for _ in range(3)
    ]
    client.force_login(donor)
    client.get(reverse("consent:history"))  # warm the session and the banner cache

    # session, user, events with their documents (however many events there are)
    with django_assert_num_queries(3):
        page = client.get(reverse("consent:history")).content.decode()

    for event in mine:
        assert reverse("consent:receipt", args=[event.pk]) in page
        assert reverse("consent:receipt_json", args=[event.pk]) in page
    assert str(others_event.pk) not in page


def test_consent_can_be_granted_for_only_one_donation(client, donor, consent_document):
    consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])
    donation = stored_donation(donor)
    client.force_login(donor)
    current = ConsentDocument.objects.order_by("-version").first()

    response = client.post(
        f"{reverse('consent:form')}?donation={donation.pk}",
        {
            "motion:restricted_release": "on",
            "credit": "anonymous",
            "applies_to": "donation",
            "understood": "on",
        },
    )

    assert response.status_code == 302
    event = ConsentEvent.objects.filter(donation=donation).get()
    assert (event.scopes, event.document) == (["motion:restricted_release"], current)


def test_an_email_as_pseudonym_is_refused_with_a_message(client, donor, consent_document):
    client.force_login(donor)
    response = client.post(
        reverse("consent:form"),
        {
            "motion:open_release": "on",
            "credit": "pseudonym",
            "pseudonym": "donor@example.org",
            "understood": "on",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["pseudonym"] == [
        "A pseudonym is 3 to 40 letters, digits, spaces, dots, dashes or underscores, "
        "and never an email address."
    ]
    assert not ConsentEvent.objects.exists()


def test_a_taken_pseudonym_is_refused_with_a_message(client, donor, consent_document):
    someone = other_donor()
    someone.pseudonym = "Quiet Fox"
    someone.save(update_fields=["pseudonym"])
    client.force_login(donor)
    response = client.post(
        reverse("consent:form"),
        {
            "motion:open_release": "on",
            "credit": "pseudonym",
            "pseudonym": "quiet fox",
            "understood": "on",
        },
    )
    assert response.context["form"].errors["pseudonym"] == [
        "That pseudonym is taken. Please choose another."
    ]


def test_a_donor_on_an_older_version_sees_a_banner_and_what_changed(
    client, donor, django_capture_on_commit_callbacks
):
    v1 = ConsentDocument.objects.get(version=1)
    consent_grant(donor=donor, document=v1, scopes=["motion:open_release"])
    current = ConsentDocument.objects.order_by("-version").first()
    if current.version == 1:
        current = consent_document_publish(
            title="Consent",
            text=v1.text + "\nOne more line.\n",
            scopes_offered=v1.scopes_offered,
            summary_of_changes="One more line.",
            published_by=None,
        )
    client.force_login(donor)

    dashboard = client.get(reverse("donations:dashboard")).content.decode()
    assert f"The consent form changed (version {current.version})." in dashboard
    assert reverse("consent:changes") in dashboard

    changes = client.get(reverse("consent:changes"))
    assert changes.context["new"] == current
    assert current.summary_of_changes in changes.content.decode()
    kinds = {kind for kind, _line in changes.context["diff"]}
    assert "add" in kinds

    # Granting under the current version removes the banner at once.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("consent:form"),
            {"motion:open_release": "on", "credit": "anonymous", "understood": "on"},
        )
    assert "The consent form changed" not in client.get(reverse("consent:history")).content.decode()


def test_withdrawal_needs_a_csrf_token(donor, consent_document):
    donation = stored_donation(donor)
    client = Client(enforce_csrf_checks=True)
    client.force_login(donor)

    response = client.post(reverse("donations:withdraw", args=[donation.pk]))

    assert response.status_code == 403
    donation.refresh_from_db()
    assert donation.status == DonationStatus.PROCESSED


def test_withdrawing_deletes_raw_and_processed_objects_after_commit(
    client, donor, consent_document, django_capture_on_commit_callbacks
):
    consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])
    donation = stored_donation(donor)
    keep = stored_donation(donor)
    client.force_login(donor)
    page = client.get(reverse("donations:withdraw", args=[donation.pk])).content.decode()
    assert "Copies already downloaded from published releases cannot be recalled." in page

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("donations:withdraw", args=[donation.pk]))
    # Committed, but nothing deleted before the callbacks run.
    assert any(key.startswith(f"raw/{donation.pk}/") for key in bucket_keys())
    for callback in callbacks:
        callback()

    assert response.status_code == 302
    donation.refresh_from_db()
    assert donation.status == DonationStatus.WITHDRAWN
    keys = bucket_keys()
    assert not [k for k in keys if k.startswith(f"raw/{donation.pk}/")]
    assert keys == sorted(
        [f.storage_key for f in keep.files.all()]
        + [f"{keep.artifact_prefix}{n}" for n in ("metadata.json", "motion.parquet", "preview.svg")]
    )
    event = ConsentEvent.objects.get(donation=donation)
    assert event.action == ConsentEvent.Action.WITHDRAW


def test_withdrawing_twice_says_it_was_already_withdrawn(client, donor, consent_document):
    donation = stored_donation(donor)
    client.force_login(donor)
    client.post(reverse("donations:withdraw", args=[donation.pk]), follow=True)

    response = client.post(reverse("donations:withdraw", args=[donation.pk]), follow=True)

    assert [str(m) for m in response.context["messages"]] == [
        "This donation was already withdrawn."
    ]
    assert ConsentEvent.objects.filter(action=ConsentEvent.Action.WITHDRAW).count() == 1
