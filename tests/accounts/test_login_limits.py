"""Failed sign-ins are limited on every login surface by one rule (django-axes): the site's
login (allauth) and the Django admin's login count together, per account and per client IP."""

import logging

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import user_token_rotate

pytestmark = pytest.mark.django_db

ADMIN_PASSWORD = "admin-it-2026"
LOCKED = "Too many failed sign-in attempts"


@pytest.fixture
def staff_admin():  # type: ignore[no-untyped-def]
    return User.objects.create_superuser(email="admin@example.org", password=ADMIN_PASSWORD)


def _admin_login(client: Client, email: str, password: str):  # type: ignore[no-untyped-def]
    return client.post(
        reverse("admin:login"),
        {"username": email, "password": password, "next": reverse("admin:index")},
    )


def test_the_admin_login_refuses_the_right_password_after_repeated_failures(client, staff_admin):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = _admin_login(client, staff_admin.email, "wrong-password")
        assert response.status_code == 200  # the form again, with its error

    locked = _admin_login(client, staff_admin.email, "wrong-password")
    assert locked.status_code == 429
    assert LOCKED in locked.content.decode()

    response = _admin_login(client, staff_admin.email, ADMIN_PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_failures_on_the_site_login_and_the_admin_login_count_together(client, staff_admin):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post(
            reverse("account_login"), {"login": staff_admin.email, "password": "wrong-password"}
        )

    # The last failure allowed comes from another address, on the other surface, in capitals.
    other = Client(REMOTE_ADDR="192.0.2.10")
    assert _admin_login(other, staff_admin.email.upper(), "wrong-password").status_code == 429

    response = _admin_login(other, staff_admin.email, ADMIN_PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in other.session


def test_failures_from_one_address_lock_that_address_out_for_every_account(client, donor):
    for number in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            reverse("account_login"),
            {"login": f"nobody-{number}@example.org", "password": "wrong-password"},
        )

    response = client.post(
        reverse("account_login"), {"login": donor.email, "password": "donate-it-2026"}
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # Another address signs in to the same account.
    other = Client(REMOTE_ADDR="192.0.2.11")
    other.post(reverse("account_login"), {"login": donor.email, "password": "donate-it-2026"})
    assert other.session["_auth_user_id"] == str(donor.pk)


def test_a_locked_out_account_keeps_its_api_token(client, staff_admin):
    key = user_token_rotate(user=staff_admin)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _admin_login(client, staff_admin.email, "wrong-password")

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/rewards/balance/").status_code == 200


def test_login_failures_and_lockouts_are_logged_without_the_email_address(
    client, staff_admin, caplog
):
    with caplog.at_level(logging.DEBUG):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            _admin_login(client, staff_admin.email, "wrong-password")

    assert "AXES" in caplog.text
    assert staff_admin.email not in caplog.text
    assert "127.0.0.1" not in caplog.text
