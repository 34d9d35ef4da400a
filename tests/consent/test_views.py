import re

import pytest
from django.test import Client
from django.urls import reverse

from consent.models import ConsentDocument, ConsentEvent
from consent.services import consent_document_publish, consent_grant
from donations.models import DonationStatus
from tests.conftest import bucket_keys
from tests.consent.support import other_donor, stored_donation

pytestmark = pytest.mark.django_db


def _confirmed(client, url: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    """Submit the consent form over a grant in force: review the change, then confirm it."""
    review = client.post(url, data)
    assert review.status_code == 200
    assert review.templates[0].name == "consent/confirm.html"
    return client.post(url, {**data, "confirm": str(review.context["current"].pk)})


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

    response = _confirmed(
        client,
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
        _confirmed(
            client,
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


FOUR = ["audio:open_release", "motion:commercial", "motion:model_training", "motion:open_release"]
CHANGED = {
    "motion:open_release": "on",
    "motion:model_training": "on",
    "events:open_release": "on",
    "credit": "anonymous",
    "understood": "on",
}


def _ticked(response) -> set[str]:  # type: ignore[no-untyped-def]
    """The scopes ticked in the rendered matrix."""
    html = response.content.decode()
    return set(re.findall(r'<input type="checkbox" name="(\w+:\w+)"[^>]*\bchecked\b', html))


def _listed(response, list_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    html = response.content.decode()
    found = re.search(rf'<ul id="{list_id}">(.*?)</ul>', html, re.DOTALL)
    return re.findall(r"<li>(.*?)</li>", found.group(1)) if found else []


def test_the_form_starts_from_the_default_grant_in_force(client, donor, consent_document):
    consent_grant(
        donor=donor,
        document=consent_document,
        scopes=FOUR,
        credit="pseudonym",
        pseudonym="Quiet Fox",
    )
    client.force_login(donor)

    response = client.get(reverse("consent:form"))

    assert _ticked(response) == set(FOUR)
    assert response.context["form"]["credit"].value() == "pseudonym"
    assert "Granting again replaces it" not in response.content.decode()


def test_the_form_for_a_donation_starts_from_the_consent_that_governs_it(
    client, donor, consent_document
):
    consent_grant(donor=donor, document=consent_document, scopes=FOUR)
    follows_default, has_its_own = stored_donation(donor), stored_donation(donor)
    consent_grant(
        donor=donor,
        document=consent_document,
        scopes=["motion:restricted_release"],
        donation_id=has_its_own.pk,
    )
    client.force_login(donor)

    default = client.get(reverse("consent:form"), {"donation": follows_default.pk})
    own = client.get(reverse("consent:form"), {"donation": has_its_own.pk})

    assert _ticked(default) == set(FOUR)
    assert _ticked(own) == {"motion:restricted_release"}


def test_a_first_grant_needs_no_confirmation(client, donor, consent_document):
    client.force_login(donor)
    response = client.post(reverse("consent:form"), CHANGED)
    assert response.status_code == 302
    assert ConsentEvent.objects.get().scopes_added == sorted(
        ["motion:open_release", "motion:model_training", "events:open_release"]
    )


def test_changing_consent_shows_what_is_added_and_withdrawn_before_anything_changes(
    client, donor, consent_document
):
    first = consent_grant(donor=donor, document=consent_document, scopes=FOUR)
    client.force_login(donor)

    review = client.post(reverse("consent:form"), CHANGED)

    assert review.status_code == 200
    assert list(ConsentEvent.objects.all()) == [first]
    assert _listed(review, "scopes-added") == ["In-app events: Open release to anyone"]
    assert _listed(review, "scopes-withdrawn") == [
        "Motion (head, hands, body): Commercial use",
        "Voice audio: Open release to anyone",
    ]
    assert _listed(review, "scopes-kept") == [
        "Motion (head, hands, body): Open release to anyone",
        "Motion (head, hands, body): Training generative models",
    ]

    confirmed = client.post(reverse("consent:form"), {**CHANGED, "confirm": str(first.pk)})

    assert confirmed.status_code == 302
    latest = ConsentEvent.objects.exclude(pk=first.pk).get()
    assert latest.scopes == ["events:open_release", "motion:model_training", "motion:open_release"]
    assert latest.scopes_added == ["events:open_release"]
    assert latest.scopes_withdrawn == ["audio:open_release", "motion:commercial"]


def test_a_confirmation_of_a_change_since_replaced_shows_the_change_again(
    client, donor, consent_document
):
    first = consent_grant(donor=donor, document=consent_document, scopes=FOUR)
    # Another tab changed the consent after this one showed the change.
    newer = consent_grant(donor=donor, document=consent_document, scopes=["events:open_release"])
    client.force_login(donor)

    response = client.post(reverse("consent:form"), {**CHANGED, "confirm": str(first.pk)})

    assert response.status_code == 200
    assert ConsentEvent.objects.count() == 2
    assert response.context["current"] == newer
    assert "Your consent changed since you reviewed it" in response.content.decode()
    assert _listed(response, "scopes-added") == [
        "Motion (head, hands, body): Open release to anyone",
        "Motion (head, hands, body): Training generative models",
    ]


def test_going_back_from_the_review_keeps_the_choices_made(client, donor, consent_document):
    consent_grant(donor=donor, document=consent_document, scopes=FOUR)
    client.force_login(donor)

    back = client.post(reverse("consent:form"), {**CHANGED, "edit": "1"})

    assert back.templates[0].name == "consent/form.html"
    assert _ticked(back) == {"motion:open_release", "motion:model_training", "events:open_release"}
    assert ConsentEvent.objects.count() == 1


def test_the_history_and_the_receipt_say_what_a_change_added_and_withdrew(
    client, donor, consent_document
):
    consent_grant(donor=donor, document=consent_document, scopes=FOUR)
    changed = consent_grant(
        donor=donor,
        document=consent_document,
        scopes=["motion:open_release", "motion:model_training", "events:open_release"],
    )
    client.force_login(donor)

    history = client.get(reverse("consent:history")).content.decode()
    assert "Added: In-app events: Open release to anyone" in history
    assert (
        "Withdrawn: Motion (head, hands, body): Commercial use; "
        "Voice audio: Open release to anyone" in history
    )
    receipt = client.get(reverse("consent:receipt", args=[changed.pk]))
    assert _listed(receipt, "scopes-added") == ["In-app events: Open release to anyone"]
    assert _listed(receipt, "scopes-withdrawn") == [
        "Motion (head, hands, body): Commercial use",
        "Voice audio: Open release to anyone",
    ]
