import pytest
from allauth.account.models import EmailAddress
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from accounts.models import User
from accounts.services import user_token_rotate
from consent.models import ConsentEvent
from consent.services import consent_grant
from donations.models import DonationStatus
from tests.conftest import bucket_keys
from tests.consent.support import stored_donation

pytestmark = pytest.mark.django_db

PASSWORD = "donate-it-2026"


def test_deleting_the_account_withdraws_everything_scrubs_the_user_and_keeps_the_events(
    client, donor, consent_document, django_capture_on_commit_callbacks
):
    grant = consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])
    first, second = stored_donation(donor), stored_donation(donor)
    user_token_rotate(user=donor)
    donor.pseudonym = "Quiet Fox"
    donor.save(update_fields=["pseudonym"])
    client.post(reverse("account_login"), {"login": donor.email, "password": PASSWORD})
    page = client.get(reverse("accounts:delete")).content.decode()
    assert "Copies already downloaded from published releases cannot be recalled." in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:delete"), {"password": PASSWORD})

    assert response.status_code == 302
    user = User.objects.get(pk=donor.pk)
    assert user.email.startswith("deleted-")
    assert user.email.endswith("@invalid")
    assert not user.has_usable_password()
    assert (user.is_active, user.pseudonym) == (False, None)
    assert not EmailAddress.objects.filter(user=user).exists()
    assert not Token.objects.filter(user=user).exists()
    assert not Session.objects.exists()
    for donation in (first, second):
        donation.refresh_from_db()
        assert donation.status == DonationStatus.WITHDRAWN
    assert bucket_keys() == []
    events = list(ConsentEvent.objects.filter(donor=user).order_by("created_at"))
    assert events[0] == grant
    assert [(e.action, e.donation_id) for e in events[1:]] == [
        ("withdraw", first.pk),
        ("withdraw", second.pk),
        ("withdraw", None),
    ]
    # The old address can no longer sign in.
    login = Client().post(
        reverse("account_login"), {"login": "donor@example.org", "password": PASSWORD}
    )
    assert login.status_code == 200


def test_account_deletion_needs_the_password(client, donor):
    client.force_login(donor)
    response = client.post(reverse("accounts:delete"), {"password": "not-it"})
    assert response.context["form"].errors["password"] == ["That is not your password."]
    donor.refresh_from_db()
    assert donor.is_active


def test_the_api_token_is_shown_once_and_replacing_it_revokes_the_old_one(client, donor):
    client.force_login(donor)
    first = client.post(reverse("accounts:token"), {"action": "rotate"})
    key = first.context["new_token"]
    assert key in first.content.decode()
    assert key not in client.get(reverse("accounts:settings")).content.decode()

    second = client.post(reverse("accounts:token"), {"action": "rotate"}).context["new_token"]
    assert second != key
    assert list(Token.objects.filter(user=donor).values_list("key", flat=True)) == [second]


def test_repeated_failed_logins_are_rate_limited(client, donor, settings):
    # The per-account limit is django-axes', shared with the admin login (test_login_limits.py).
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(
            reverse("account_login"), {"login": donor.email, "password": "wrong-password"}
        )
        assert "The email address and/or password you specified are not correct." in (
            response.content.decode()
        )
    response = client.post(
        reverse("account_login"), {"login": donor.email, "password": "wrong-password"}
    )
    assert response.status_code == 429
    # Even the right password is refused while the limit holds.
    response = client.post(reverse("account_login"), {"login": donor.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed sign-in attempts. Try again in 5 minutes." in (
        response.content.decode()
    )
    assert "_auth_user_id" not in client.session
