"""Every URL pattern x every role x GET and POST: the status each cell must answer.

The patterns are walked from the URL conf, so a new route without an entry in EXPECTED fails
this test. Roles are people as the site knows them (accounts/permissions.py states what each may
do; this table is what that means per route): nobody signed in, the donor who owns the seeded
objects, another donor, a researcher (a signed-in account with no donations), a curator and an
admin. Path parameters are filled with real rows owned by the donor, so "someone else's" is
tested as well as "nobody's". One database, one test: the cells run in order, every GET first.

A cell is a status code, or LOGIN: a redirect to the sign-in page with `next` back here.
"""

import re

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.settings import api_settings

from accounts.models import CURATORS_GROUP, User
from accounts.services import user_create_verified
from consent.models import ConsentEvent
from consent.services import consent_grant
from donations.uploads import FileSpec, upload_session_open
from releases.models import Dataset
from rewards.services import payout_request_create
from tests.consent.support import stored_donation
from tests.releases.access_support import published_release, restricted_dataset
from tests.rewards.support import fund, reward_rule

pytestmark = pytest.mark.django_db

LOGIN = "login"


def _api_anonymous_status() -> int:
    """DRF refuses a request without credentials with 401 when its first authentication class
    sends a challenge (WWW-Authenticate: Token), with 403 when it has none (session auth)."""
    first = api_settings.DEFAULT_AUTHENTICATION_CLASSES[0]
    return 401 if first().authenticate_header(None) else 403  # type: ignore[arg-type]


API_ANON = _api_anonymous_status()
ROLES = ("anonymous", "donor", "other_donor", "researcher", "curator", "admin")

# Columns: anonymous, donor (owns the rows), other donor, researcher, curator, admin.
# Notes on what the table states:
# - Signed-in pages send anonymous visitors to LOGIN; the API refuses them with API_ANON.
# - Someone else's donation, upload, consent event or payout is 404, never 403: the `*_for_user`
#   selectors do not tell anyone it exists. Curators see donations only through /curate/.
# - /curate/ is the curators' (REVIEW_DONATIONS, PUBLISH_RELEASES): an admin outside the group
#   gets 403 too. The approved payouts CSV (donors' emails) is the admin's alone (PAY_DONORS).
# - Many HTML pages answer POST like GET (200): they have no method guard; not an access hole.
EXPECTED: dict[str, dict[str, tuple[int | str, ...]]] = {
    "home": {"GET": (200, 200, 200, 200, 200, 200), "POST": (405, 405, 405, 405, 405, 405)},
    "health": {"GET": (200, 200, 200, 200, 200, 200), "POST": (200, 200, 200, 200, 200, 200)},
    "admin:index": {"GET": (302, 302, 302, 302, 200, 200), "POST": (302, 302, 302, 302, 200, 200)},
    "admin:login": {"GET": (200, 200, 200, 200, 302, 302), "POST": (200, 200, 200, 200, 200, 200)},
    "account_login": {
        "GET": (200, 302, 302, 302, 302, 302),
        "POST": (200, 302, 302, 302, 302, 302),
    },
    "account_logout": {
        "GET": (302, 200, 200, 200, 200, 200),
        "POST": (302, 302, 302, 302, 302, 302),
    },
    "account_inactive": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (405, 405, 405, 405, 405, 405),
    },
    "account_signup": {
        "GET": (200, 302, 302, 302, 302, 302),
        "POST": (200, 302, 302, 302, 302, 302),
    },
    "account_reauthenticate": {
        "GET": (LOGIN, 200, 200, 200, 200, 200),
        "POST": (LOGIN, 200, 200, 200, 200, 200),
    },
    "account_email": {
        "GET": (LOGIN, 200, 200, 200, 200, 200),
        "POST": (LOGIN, 302, 302, 302, 302, 302),
    },
    "account_email_verification_sent": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (405, 405, 405, 405, 405, 405),
    },
    "account_change_password": {
        "GET": (LOGIN, 200, 200, 200, 200, 200),
        "POST": (LOGIN, 200, 200, 200, 200, 200),
    },
    "account_set_password": {
        "GET": (LOGIN, 302, 302, 302, 302, 302),
        "POST": (LOGIN, 302, 302, 302, 302, 302),
    },
    "account_reset_password": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (200, 200, 200, 200, 200, 200),
    },
    "account_confirm_login_code": {
        "GET": (302, 302, 302, 302, 302, 302),
        "POST": (302, 302, 302, 302, 302, 302),
    },
    "account_confirm_email": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (404, 404, 404, 404, 404, 404),
    },
    "account_reset_password_from_key_done": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (405, 405, 405, 405, 405, 405),
    },
    "account_reset_password_from_key": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (200, 200, 200, 200, 200, 200),
    },
    "account_reset_password_done": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (405, 405, 405, 405, 405, 405),
    },
    "accounts:settings": {
        "GET": (LOGIN, 200, 200, 200, 200, 200),
        "POST": (LOGIN, 200, 200, 200, 200, 200),
    },
    "accounts:token": {
        "GET": (LOGIN, 405, 405, 405, 405, 405),
        "POST": (LOGIN, 200, 200, 200, 200, 200),
    },
    "accounts:delete": {
        "GET": (LOGIN, 200, 200, 200, 200, 200),
        "POST": (LOGIN, 200, 200, 200, 200, 200),
    },
    "consent:form": {
        "GET": (LOGIN, 200, 200, 200, 200, 200),
        "POST": (LOGIN, 200, 200, 200, 200, 200),
    },
    "consent:history": {
        "GET": (LOGIN, 200, 200, 200, 200, 200),
        "POST": (LOGIN, 200, 200, 200, 200, 200),
    },
    "consent:changes": {
        "GET": (LOGIN, 200, 302, 302, 302, 302),
        "POST": (LOGIN, 405, 405, 405, 405, 405),
    },
    "consent:withdraw_all": {
        "GET": (LOGIN, 200, 200, 200, 200, 200),
        "POST": (LOGIN, 302, 302, 302, 302, 302),
    },
    "consent:document": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (200, 200, 200, 200, 200, 200),
    },
    "consent:receipt": {
        "GET": (LOGIN, 200, 404, 404, 404, 404),
        "POST": (LOGIN, 200, 404, 404, 404, 404),
    },
    "consent:receipt_json": {
        "GET": (LOGIN, 200, 404, 404, 404, 404),
        "POST": (LOGIN, 200, 404, 404, 404, 404),
    },
    "rewards:overview": {
        "GET": (LOGIN, 200, 200, 200, 200, 200),
        "POST": (LOGIN, 200, 200, 200, 200, 200),
    },
    "rewards:statement": {
        "GET": (LOGIN, 200, 200, 200, 200, 200),
        "POST": (LOGIN, 200, 200, 200, 200, 200),
    },
    "rewards:payout_request": {
        "GET": (LOGIN, 405, 405, 405, 405, 405),
        "POST": (LOGIN, 400, 400, 400, 400, 400),
    },
    "rewards:payout_detail": {
        "GET": (LOGIN, 200, 404, 404, 404, 404),
        "POST": (LOGIN, 200, 404, 404, 404, 404),
    },
    "rewards:approved_payouts_export": {
        "GET": (LOGIN, 403, 403, 403, 403, 200),
        "POST": (LOGIN, 403, 403, 403, 403, 200),
    },
    "rewards:leaderboard": {
        "GET": (404, 404, 404, 404, 404, 404),
        "POST": (404, 404, 404, 404, 404, 404),
    },
    "rewards:leaderboard_opt_in": {
        "GET": (LOGIN, 405, 405, 405, 405, 405),
        "POST": (LOGIN, 302, 302, 302, 302, 302),
    },
    "donations:dashboard": {
        "GET": (LOGIN, 200, 200, 200, 200, 200),
        "POST": (LOGIN, 200, 200, 200, 200, 200),
    },
    "donations:upload": {
        "GET": (LOGIN, 200, 200, 200, 200, 200),
        "POST": (LOGIN, 200, 200, 200, 200, 200),
    },
    "donations:upload_part": {
        "GET": (405, 405, 405, 405, 405, 405),
        "POST": (405, 405, 405, 405, 405, 405),
    },
    "donations:detail": {
        "GET": (LOGIN, 200, 404, 404, 404, 404),
        "POST": (LOGIN, 200, 404, 404, 404, 404),
    },
    "donations:preview": {
        "GET": (LOGIN, 200, 404, 404, 404, 404),
        "POST": (LOGIN, 200, 404, 404, 404, 404),
    },
    "donations:preview_motion": {
        "GET": (LOGIN, 200, 404, 404, 404, 404),
        "POST": (LOGIN, 200, 404, 404, 404, 404),
    },
    "donations:withdraw": {
        "GET": (LOGIN, 200, 404, 404, 404, 404),
        "POST": (LOGIN, 302, 404, 404, 404, 404),
    },
    "donations:curation_queue": {
        "GET": (LOGIN, 403, 403, 403, 200, 403),
        "POST": (LOGIN, 403, 403, 403, 200, 403),
    },
    "donations:review": {
        "GET": (LOGIN, 403, 403, 403, 405, 403),
        "POST": (LOGIN, 403, 403, 403, 302, 403),
    },
    "donations:bulk_review": {
        "GET": (LOGIN, 403, 403, 403, 405, 403),
        "POST": (LOGIN, 403, 403, 403, 302, 403),
    },
    "donations:curation_preview_motion": {
        "GET": (LOGIN, 403, 403, 403, 200, 403),
        "POST": (LOGIN, 403, 403, 403, 200, 403),
    },
    "releases:catalogue": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (200, 200, 200, 200, 200, 200),
    },
    "releases:downloader": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (200, 200, 200, 200, 200, 200),
    },
    "releases:dataset": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (200, 200, 200, 200, 200, 200),
    },
    "releases:agreement": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (LOGIN, 302, 302, 302, 302, 302),
    },
    "releases:withdrawals_json": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (405, 405, 405, 405, 405, 405),
    },
    "releases:withdrawals_atom": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (405, 405, 405, 405, 405, 405),
    },
    "releases:release": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (200, 200, 200, 200, 200, 200),
    },
    "releases:file": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (405, 405, 405, 405, 405, 405),
    },
    "releases:create": {
        "GET": (LOGIN, 403, 403, 403, 405, 403),
        "POST": (LOGIN, 403, 403, 403, 302, 403),
    },
    "releases:publish": {
        "GET": (LOGIN, 403, 403, 403, 405, 403),
        "POST": (LOGIN, 403, 403, 403, 302, 403),
    },
    "releases:retry": {
        "GET": (LOGIN, 403, 403, 403, 405, 403),
        "POST": (LOGIN, 403, 403, 403, 302, 403),
    },
    "processing:formats": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (200, 200, 200, 200, 200, 200),
    },
    "processing:pose_stream_schema": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (200, 200, 200, 200, 200, 200),
    },
    "api:donation-withdraw": {
        "GET": (API_ANON, 405, 405, 405, 405, 405),
        "POST": (API_ANON, 200, 404, 404, 404, 404),
    },
    "api:account-delete": {
        "GET": (API_ANON, 405, 405, 405, 405, 405),
        "POST": (API_ANON, 400, 400, 400, 400, 400),
    },
    "api:reward-rule": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (405, 405, 405, 405, 405, 405),
    },
    "api:reward-balance": {
        "GET": (API_ANON, 200, 200, 200, 200, 200),
        "POST": (API_ANON, 405, 405, 405, 405, 405),
    },
    "api:donation-list": {
        "GET": (API_ANON, 200, 200, 200, 200, 200),
        "POST": (API_ANON, 405, 405, 405, 405, 405),
    },
    "api:donation-detail": {
        "GET": (API_ANON, 200, 404, 404, 404, 404),
        "POST": (API_ANON, 405, 405, 405, 405, 405),
    },
    "api:donation-preview": {
        "GET": (API_ANON, 200, 404, 404, 404, 404),
        "POST": (API_ANON, 405, 405, 405, 405, 405),
    },
    "api:dataset-list": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (405, 405, 405, 405, 405, 405),
    },
    "api:dataset-detail": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (405, 405, 405, 405, 405, 405),
    },
    "api:dataset-withdrawals": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (405, 405, 405, 405, 405, 405),
    },
    "api:consent-document-list": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (405, 405, 405, 405, 405, 405),
    },
    "api:consent-document-current": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (405, 405, 405, 405, 405, 405),
    },
    "api:consent-document-detail": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (405, 405, 405, 405, 405, 405),
    },
    "api:consent-event-list": {
        "GET": (API_ANON, 200, 200, 200, 200, 200),
        "POST": (API_ANON, 400, 400, 400, 400, 400),
    },
    "api:consent-event-withdraw": {
        "GET": (API_ANON, 405, 405, 405, 405, 405),
        "POST": (API_ANON, 200, 200, 200, 200, 200),
    },
    "api:consent-event-detail": {
        "GET": (API_ANON, 200, 404, 404, 404, 404),
        "POST": (API_ANON, 405, 405, 405, 405, 405),
    },
    "api:consent-event-receipt": {
        "GET": (API_ANON, 200, 404, 404, 404, 404),
        "POST": (API_ANON, 405, 405, 405, 405, 405),
    },
    "api:reward-ledger-list": {
        "GET": (API_ANON, 200, 200, 200, 200, 200),
        "POST": (API_ANON, 405, 405, 405, 405, 405),
    },
    "api:reward-payout-list": {
        "GET": (API_ANON, 200, 200, 200, 200, 200),
        "POST": (API_ANON, 400, 400, 400, 400, 400),
    },
    "api:reward-payout-detail": {
        "GET": (API_ANON, 200, 404, 404, 404, 404),
        "POST": (API_ANON, 405, 405, 405, 405, 405),
    },
    "api:api-root": {
        "GET": (API_ANON, 200, 200, 200, 200, 200),
        "POST": (API_ANON, 405, 405, 405, 405, 405),
    },
    "api:upload-list": {
        "GET": (API_ANON, 405, 405, 405, 405, 405),
        "POST": (API_ANON, 400, 400, 400, 400, 400),
    },
    "api:upload-detail": {
        "GET": (API_ANON, 200, 404, 404, 404, 404),
        "POST": (API_ANON, 405, 405, 405, 405, 405),
    },
    "api:upload-parts": {
        "GET": (API_ANON, 200, 404, 404, 404, 404),
        "POST": (API_ANON, 405, 405, 405, 405, 405),
    },
    "api:upload-part-sign": {
        "GET": (API_ANON, 405, 405, 405, 405, 405),
        "POST": (API_ANON, 400, 404, 404, 404, 404),
    },
    "api:upload-complete": {
        "GET": (API_ANON, 405, 405, 405, 405, 405),
        "POST": (API_ANON, 400, 404, 404, 404, 404),
    },
    "api:upload-abort": {
        "GET": (API_ANON, 405, 405, 405, 405, 405),
        "POST": (API_ANON, 200, 404, 404, 404, 404),
    },
    "api:release-list": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (405, 405, 405, 405, 405, 405),
    },
    "api:release-detail": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (405, 405, 405, 405, 405, 405),
    },
    "api:release-signed-urls": {
        "GET": (200, 200, 200, 200, 200, 200),
        "POST": (405, 405, 405, 405, 405, 405),
    },
    "schema": {"GET": (200, 200, 200, 200, 200, 200), "POST": (405, 405, 405, 405, 405, 405)},
    "swagger-ui": {"GET": (200, 200, 200, 200, 200, 200), "POST": (405, 405, 405, 405, 405, 405)},
}

# --- Walking the URL conf -------------------------------------------------------------------

# Admin's own routes (model changelists, change forms, its JS catalogue...) are Django's, each
# guarded by the admin site itself; only the entry points are in the table.
ADMIN_ENTRY_POINTS = {"admin:index", "admin:login"}


def _skipped(name: str, path: str) -> bool:
    if name.startswith("admin:") and name not in ADMIN_ENTRY_POINTS:
        return True
    return path.startswith("static/")  # served by WhiteNoise, not views


_ROUTE_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
_REGEX_PARAM = re.compile(r"\(\?P<(?P<name>\w+)>(?P<regex>[^)]*)\)")


def _fill(pattern: object, values: dict[str, str]) -> str:
    """The pattern's text with each parameter replaced by its value."""
    text = str(pattern)
    if isinstance(pattern.regex.pattern, str) and text.startswith("^"):  # type: ignore[attr-defined]
        text = _REGEX_PARAM.sub(lambda m: values[m["name"]], text)
        return text.removeprefix("^").removesuffix("$").replace("/?", "").replace("\\.", ".")
    return _ROUTE_PARAM.sub(lambda m: values[m["name"]], text)


def _patterns(resolver: URLResolver, prefix: tuple[object, ...] = (), namespace: str = ""):  # type: ignore[no-untyped-def]
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _patterns(entry, (*prefix, entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace else str(entry.name)
            yield name, (*prefix, entry.pattern)


def _param_names(parts: tuple[object, ...]) -> set[str]:
    names: set[str] = set()
    for part in parts:
        names |= {m["name"] for m in _ROUTE_PARAM.finditer(str(part))}
        names |= {m["name"] for m in _REGEX_PARAM.finditer(str(part))}
    return names


# --- Seeded rows ----------------------------------------------------------------------------


@pytest.fixture
def world(consent_document, dataset, s3_server, settings):  # type: ignore[no-untyped-def]
    settings.REWARDS_PAYOUT_MINIMUM = 10
    donor = user_create_verified(email="donor@example.org", password="donate-it-2026")
    other = user_create_verified(email="other@example.org", password="donate-it-2026")
    researcher = user_create_verified(email="researcher@example.org", password="research-2026")
    curator = user_create_verified(
        email="curator@example.org", password="curate-it-2026", curator=True
    )
    admin = User.objects.create_superuser(email="admin@example.org", password="admin-it-2026")
    assert curator.groups.filter(name=CURATORS_GROUP).exists()

    consent_grant(
        donor=donor,
        document=consent_document,
        scopes=["motion:open_release", "motion:model_training", "motion:restricted_release"],
    )
    donation = stored_donation(donor)
    default_storage.save(f"{donation.artifact_prefix}preview.json", ContentFile(b"{}"))
    withdraw_web, withdraw_api = stored_donation(donor), stored_donation(donor)
    upload = upload_session_open(
        donor=donor, files=[FileSpec(kind="motion", size=100, extension="bvh")]
    )
    session = upload.upload_sessions.get()
    reward_rule()
    fund(donor, 100, curator)
    payout = payout_request_create(user=donor, credits=20)
    event = ConsentEvent.objects.filter(donor=donor).latest("created_at")
    restricted = restricted_dataset()
    release = published_release(
        dataset=Dataset.objects.get(slug=dataset.slug),
        curator=curator,
        donations=[],
        files={"manifest.json": b"{}"},
    )
    published_release(dataset=restricted, curator=curator, donations=[], files={"a.txt": b"a"})

    values = {
        "donation_id": str(donation.pk),
        "session_id": str(session.pk),
        "part_number": "1",
        "event_id": str(event.pk),
        "payout_id": str(payout.pk),
        "slug": dataset.slug,
        "dataset_slug": dataset.slug,
        "path": "manifest.json",
        "release_id": str(release.pk),
        "key": "not-a-key",
        "uidb36": "1",
        "format": "json",
    }
    overrides = {
        "donations:withdraw": {"donation_id": str(withdraw_web.pk)},
        "api:donation-withdraw": {"donation_id": str(withdraw_api.pk)},
        "releases:agreement": {"slug": restricted.slug},
        "consent:document": {"version": str(consent_document.version)},
        "api:consent-document-detail": {"version": str(consent_document.version)},
        "releases:release": {"version": release.version},
        "releases:file": {"version": release.version},
        "api:release-detail": {"version": release.version},
        "api:release-signed-urls": {"version": release.version},
        "api:donation-detail": {"pk": str(donation.pk)},
        "api:donation-preview": {"pk": str(donation.pk)},
        "api:consent-event-detail": {"pk": str(event.pk)},
        "api:consent-event-receipt": {"pk": str(event.pk)},
        "api:reward-payout-detail": {"pk": str(payout.pk)},
    }
    users = {
        "anonymous": None,
        "donor": donor,
        "other_donor": other,
        "researcher": researcher,
        "curator": curator,
        "admin": admin,
    }
    return users, values, overrides


# Run last among the POSTs: they change what the donor's other cells see.
POST_LAST = ("api:consent-event-withdraw", "consent:withdraw_all")


def _request(user, method: str, path: str) -> int | str:  # type: ignore[no-untyped-def]
    client = Client(raise_request_exception=False)  # a 500 is a wrong cell like any other
    if user is not None:
        client.force_login(user)
    response = client.get(path) if method == "GET" else client.post(path, {})
    if response.status_code == 302 and response["Location"].startswith("/accounts/login/?next="):
        return LOGIN
    return response.status_code


def test_every_route_answers_each_role_as_the_permission_matrix_says(world):  # type: ignore[no-untyped-def]
    users, values, overrides = world
    routes: list[tuple[str, str]] = []
    for name, parts in _patterns(get_resolver()):
        path = "".join(str(p) for p in parts)
        if _skipped(name, path):
            continue
        filled = {**values, **overrides.get(name, {})}
        missing = _param_names(parts) - set(filled)
        assert not missing, f"{name}: no value for {sorted(missing)}"
        routes.append((name, "/" + "".join(_fill(p, filled) for p in parts)))
    unknown = sorted({name for name, _ in routes} - set(EXPECTED))
    assert not unknown, f"Routes missing from EXPECTED (add a row): {unknown}"
    assert {name for name, _ in routes} == set(EXPECTED), "EXPECTED lists routes that are gone"

    observed: dict[tuple[str, str], dict[str, list[int | str]]] = {}
    for method in ("GET", "POST"):
        ordered = sorted(routes, key=lambda route: method == "POST" and route[0] in POST_LAST)
        for name, path in ordered:
            cells = observed.setdefault((name, path), {}).setdefault(method, [])
            cells.extend(_request(users[role], method, path) for role in ROLES)

    wrong = [
        f"{method} {path} ({name}): expected {EXPECTED[name][method]}, got {tuple(cells)}"
        for (name, path), by_method in observed.items()
        for method, cells in by_method.items()
        if tuple(cells) != EXPECTED[name][method]
    ]
    assert not wrong, "Columns: " + ", ".join(ROLES) + "\n" + "\n".join(wrong)


def test_the_matrix_states_a_get_and_a_post_for_every_role():
    for name, cells in EXPECTED.items():
        assert set(cells) == {"GET", "POST"}, name
        for statuses in cells.values():
            assert len(statuses) == len(ROLES), name
            assert 500 not in statuses, f"{name}: a 500 is never the expected answer"
