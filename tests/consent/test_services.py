import pytest
from django.utils import timezone

from consent.models import ConsentDocument, ConsentEvent
from consent.selectors import consent_event_get_effective, consent_renewal_get_for_user
from consent.services import ConsentError, consent_document_publish, consent_grant
from donations.services import donation_withdraw, donation_withdraw_all
from tests.consent.support import stored_donation

pytestmark = pytest.mark.django_db


def test_a_donation_follows_the_default_until_it_has_its_own_grant(donor, consent_document):
    donation = stored_donation(donor)
    default = consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])
    assert consent_event_get_effective(donor=donor, donation_id=donation.pk) == default

    own = consent_grant(
        donor=donor,
        document=consent_document,
        scopes=["motion:restricted_release"],
        donation_id=donation.pk,
    )
    assert consent_event_get_effective(donor=donor, donation_id=donation.pk) == own
    # The account default is untouched by a grant for one donation.
    assert consent_event_get_effective(donor=donor, donation_id=None) == default


def test_a_later_default_grant_governs_a_donation_that_only_followed_the_default(
    donor, consent_document
):
    donation = stored_donation(donor)
    consent_grant(
        donor=donor,
        document=consent_document,
        scopes=["motion:open_release"],
        donation_id=donation.pk,
    )
    newer = consent_grant(donor=donor, document=consent_document, scopes=["motion:commercial"])
    assert consent_event_get_effective(donor=donor, donation_id=donation.pk) == newer


def test_a_withdrawn_donation_stays_withdrawn_after_a_new_default_grant(donor, consent_document):
    consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])
    donation = stored_donation(donor)
    donation_withdraw(donor=donor, donation=donation, method=ConsentEvent.Method.WEB)
    consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])

    effective = consent_event_get_effective(donor=donor, donation_id=donation.pk)
    assert effective.action == ConsentEvent.Action.WITHDRAW
    assert effective.donation_id == donation.pk


def test_withdrawal_records_the_document_and_hash_the_consent_was_given_under(
    donor, consent_document
):
    donation = stored_donation(donor)
    consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])
    donation_withdraw(donor=donor, donation=donation, method=ConsentEvent.Method.API)

    event = ConsentEvent.objects.get(action=ConsentEvent.Action.WITHDRAW)
    assert (event.donation_id, event.scopes, event.method) == (donation.pk, [], "api")
    assert (event.document, event.document_sha256) == (consent_document, consent_document.sha256)


def test_publishing_makes_the_next_version_with_the_hash_of_its_text(donor, consent_document):
    newest = ConsentDocument.objects.order_by("-version").first()
    text = "## Consent\n\nNew words.\n"
    document = consent_document_publish(
        title="Consent, revised",
        text=text,
        scopes_offered=["motion:open_release", "audio:open_release"],
        effective_at=None,
        summary_of_changes="Shorter.",
        published_by=donor,
    )
    assert document.version == newest.version + 1
    assert document.sha256 == ConsentDocument.hash_text(text)
    assert document.scopes_offered == ["audio:open_release", "motion:open_release"]
    assert document.effective_at <= timezone.now()


def test_publishing_a_new_version_requires_a_summary_of_changes(consent_document):
    with pytest.raises(ConsentError, match="Say what changed since the previous version"):
        consent_document_publish(
            title="Consent",
            text="Other words.",
            scopes_offered=["motion:open_release"],
            summary_of_changes="  ",
            published_by=None,
        )


def test_a_donor_who_granted_under_an_older_version_is_asked_to_renew(donor, consent_document):
    consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])
    current = ConsentDocument.objects.order_by("-version").first()
    if current.version == consent_document.version:  # make sure a newer version exists
        current = consent_document_publish(
            title="Consent",
            text="Newer words.",
            scopes_offered=["motion:open_release"],
            summary_of_changes="Newer.",
            published_by=None,
        )
    assert consent_renewal_get_for_user(user=donor) == current

    consent_grant(donor=donor, document=current, scopes=["motion:open_release"])
    assert consent_renewal_get_for_user(user=donor) is None


def test_credit_under_a_pseudonym_sets_it_and_refuses_an_email_like_one(donor, consent_document):
    with pytest.raises(ConsentError, match="never an email address"):
        consent_grant(
            donor=donor,
            document=consent_document,
            scopes=["motion:open_release"],
            credit="pseudonym",
            pseudonym="me@example.org",
        )
    consent_grant(
        donor=donor,
        document=consent_document,
        scopes=["motion:open_release"],
        credit="pseudonym",
        pseudonym="Quiet Fox",
    )
    donor.refresh_from_db()
    assert donor.pseudonym == "Quiet Fox"


FOUR = ["audio:open_release", "motion:model_training", "motion:open_release", "motion:commercial"]


def test_a_grant_records_what_it_adds_and_withdraws_against_the_grant_in_force(
    donor, consent_document
):
    first = consent_grant(donor=donor, document=consent_document, scopes=FOUR)
    assert (first.scopes_added, first.scopes_withdrawn) == (sorted(FOUR), [])

    changed = consent_grant(
        donor=donor,
        document=consent_document,
        scopes=["motion:open_release", "motion:model_training", "events:open_release"],
    )
    changed.refresh_from_db()
    assert changed.scopes_added == ["events:open_release"]
    assert changed.scopes_withdrawn == ["audio:open_release", "motion:commercial"]


def test_a_grant_for_one_donation_records_its_change_from_the_default_it_followed(
    donor, consent_document
):
    consent_grant(donor=donor, document=consent_document, scopes=FOUR)
    donation = stored_donation(donor)

    own = consent_grant(
        donor=donor,
        document=consent_document,
        scopes=[*FOUR, "events:open_release"],
        donation_id=donation.pk,
    )
    assert (own.scopes_added, own.scopes_withdrawn) == (["events:open_release"], [])


def test_a_withdrawal_records_every_scope_it_withdraws(donor, consent_document):
    consent_grant(donor=donor, document=consent_document, scopes=FOUR)
    donation = stored_donation(donor)
    donation_withdraw(donor=donor, donation=donation, method=ConsentEvent.Method.WEB)

    one = ConsentEvent.objects.get(donation=donation)
    assert (one.scopes_added, one.scopes_withdrawn) == ([], sorted(FOUR))

    donation_withdraw_all(donor=donor, method=ConsentEvent.Method.WEB)
    everything = consent_event_get_effective(donor=donor, donation_id=None)
    assert everything.action == ConsentEvent.Action.WITHDRAW
    assert (everything.scopes_added, everything.scopes_withdrawn) == ([], sorted(FOUR))
    # A grant after withdrawing everything adds each of its scopes again.
    again = consent_grant(donor=donor, document=consent_document, scopes=FOUR)
    assert (again.scopes_added, again.scopes_withdrawn) == (sorted(FOUR), [])
