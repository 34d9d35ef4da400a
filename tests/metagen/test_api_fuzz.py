"""Schemathesis against /api/schema/: every operation, as a donor, a researcher and nobody, with
generated requests (writes too; they run in the test database) at a fixed seed. No answer may be
a 5xx, and every answer must be one the schema documents, in its documented shape and type."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.openapi import from_wsgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.services import user_token_rotate
from consent.services import consent_grant
from donations.uploads import FileSpec, upload_session_open
from releases.access import dua_accept, dua_sha256
from rewards.services import payout_request_create
from tests.consent.support import stored_donation
from tests.factories import DatasetFactory
from tests.releases.access_support import (
    accepted_donation,
    payload,
    published_release,
    restricted_dataset,
)
from tests.rewards.support import fund, reward_rule

pytestmark = pytest.mark.django_db

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Per operation, identity and path-parameter choice: bounded so the module runs in minutes.
MAX_EXAMPLES = 12
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,  # the same examples on every run: a failure in CI reproduces locally
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
    report_multiple_bugs=False,
)


@pytest.fixture
def seeded(donor, researcher, curator, consent_document, settings):  # type: ignore[no-untyped-def]
    """A donor with donations, consent events, an upload session and a payout; an open and a
    restricted release; a researcher who accepted the restricted dataset's agreement."""
    settings.REWARDS_PAYOUT_MINIMUM = 10
    reward_rule()
    event = consent_grant(
        donor=donor, document=consent_document, scopes=["motion:open_release", "audio:open_release"]
    )
    donation = stored_donation(donor)
    default_storage.save(f"{donation.artifact_prefix}preview.json", ContentFile(b'{"frames": []}'))
    opened = upload_session_open(
        donor=donor, files=[FileSpec(kind="motion", size=1000, extension="bvh")]
    )
    fund(donor, 500, curator)
    payout = payout_request_create(user=donor, credits=50)
    released = accepted_donation(consent_document)
    files = {"data/motion-00000.parquet": payload(100), "manifest.json": b"{}\n"}
    open_release = published_release(
        dataset=DatasetFactory(), curator=curator, donations=[released], files=files
    )
    restricted = restricted_dataset()
    published_release(dataset=restricted, curator=curator, donations=[released], files=files)
    dua_accept(dataset=restricted, user=researcher, dua_sha256_seen=dua_sha256(dataset=restricted))
    return {
        # The seeded rows' real path parameters, by the operation path's leading part.
        "rows": {
            "/api/consent/documents/": {"version": consent_document.version},
            "/api/consent/events/": {"id": str(event.pk)},
            "/api/rewards/payouts/": {"id": str(payout.pk)},
            "/api/donations/": {"id": str(donation.pk), "donation_id": str(donation.pk)},
            "/api/uploads/": {"session_id": str(opened.upload_sessions.get().pk), "part_number": 1},
            "/api/datasets/": {
                "slug": open_release.dataset.slug,
                "dataset_slug": restricted.slug,
                "version": "1.0.0",
            },
        },
        "identities": {
            "donor": {"Authorization": f"Token {user_token_rotate(user=donor)}"},
            "researcher": {"Authorization": f"Token {user_token_rotate(user=researcher)}"},
            "nobody": {},
        },
    }


def _real_path_parameters(path: str, names: list[str], rows: dict) -> dict[str, object]:  # type: ignore[type-arg]
    (values,) = [values for prefix, values in rows.items() if path.startswith(prefix)]
    return {name: values[name] for name in names}


def _exercise(strategy, headers: dict[str, str], statuses: set[int]) -> None:  # type: ignore[no-untyped-def]
    @FUZZ
    @given(case=strategy)
    def exercise(case):  # type: ignore[no-untyped-def]
        statuses.add(case.call_and_validate(headers=headers, checks=CHECKS).status_code)

    exercise()


@pytest.fixture
def in_test_transaction():  # type: ignore[no-untyped-def]
    """Serve requests over WSGI inside the test's transaction: like Django's test client, keep
    the request signals from closing the test's database connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_every_api_operation_answers_as_its_schema_says(seeded, settings, in_test_transaction):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    schema = from_wsgi("/api/schema/", WSGIHandler())
    failures: list[str] = []
    answered: dict[str, set[int]] = {}
    # Withdrawals, deletion and aborts last, so the other operations meet the seeded rows intact.
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()),
        key=lambda operation: any(w in operation.path for w in ("withdraw", "delete", "abort")),
    )
    assert len(operations) > 25

    for operation in operations:
        path_names = [p.name for p in operation.path_parameters]
        # Generated path parameters (mostly unknown ids), then the seeded rows' real ones.
        choices: list[dict[str, object] | None] = [None]
        if path_names:
            choices.append(_real_path_parameters(operation.path, path_names, seeded["rows"]))
        for who, headers in seeded["identities"].items():
            for path_parameters in choices:
                strategy = operation.as_strategy(path_parameters=path_parameters)
                try:
                    _exercise(strategy, headers, answered.setdefault(operation.label, set()))
                # Collect every operation's failures (schemathesis raises a group), report all.
                except (Exception, BaseExceptionGroup) as exc:
                    failures.append(f"{operation.label} as {who}: {exc}")

    assert not failures, "\n\n".join(failures)
    # The run reached the views, not only the 401s and 404s: every read answered a 2xx.
    unanswered = [label for label, codes in answered.items() if label.startswith("GET ")]
    unanswered = [label for label in unanswered if not any(200 <= c < 300 for c in answered[label])]
    assert not unanswered
