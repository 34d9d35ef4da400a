"""Bad input to the API answers a specific 4xx, never a 500, and the schema says what it answers:
page limits, format suffixes, ids that are not UUIDs, deeply nested JSON, tokens, and the
documented shapes of errors and of the unpaginated lists."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.services import user_token_rotate
from consent.models import ConsentEvent
from consent.services import consent_grant
from metagen.rest import ApiPagination, BoundedJSONParser
from releases.models import Dataset
from tests.consent.support import stored_donation
from tests.factories import DatasetFactory

pytestmark = pytest.mark.django_db

BIGINT_PLUS_ONE = "9223372036854775808"


@pytest.fixture
def token_api(donor):  # type: ignore[no-untyped-def]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {user_token_rotate(user=donor)}")
    return client


@pytest.fixture
def schema():  # type: ignore[no-untyped-def]
    response = Client().get(reverse("schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


# --- 10: page limits ---------------------------------------------------------------------------


def test_a_limit_beyond_bigint_answers_a_page_of_at_most_the_maximum():
    for n in range(ApiPagination.max_limit + 1):
        DatasetFactory(slug=f"set-{n}")

    response = APIClient().get(reverse("api:dataset-list"), {"limit": BIGINT_PLUS_ONE})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == Dataset.objects.count() > ApiPagination.max_limit
    assert len(body["results"]) == ApiPagination.max_limit
    assert body["next"] is not None


def test_an_offset_beyond_bigint_answers_an_empty_page(dataset):
    response = APIClient().get(reverse("api:dataset-list"), {"offset": BIGINT_PLUS_ONE})

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_the_schema_states_the_maximum_limit(schema):
    parameters = schema["paths"]["/api/datasets/"]["get"]["parameters"]
    limit = next(p for p in parameters if p["name"] == "limit")
    assert limit["schema"]["maximum"] == ApiPagination.max_limit
    assert limit["schema"]["minimum"] == 1


# --- 11: format suffixes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/consent/documents/current.json"),
        ("get", "/api/datasets/vr-motion-open/withdrawals.json"),
        ("get", "/api/datasets/vr-motion-open/releases/1.0.0/signed-urls.json"),
        ("get", "/api/donations/{donation}/preview.json"),
        ("get", "/api/consent/events/{event}/receipt.json"),
        ("get", "/api/donations.json"),
        ("post", "/api/consent/events.json"),
        ("post", "/api/consent/events/withdraw.json"),
    ],
)
def test_the_api_serves_no_format_suffix_routes(
    token_api, donor, consent_document, dataset, method, path
):
    event = consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])
    donation = stored_donation(donor)
    url = path.format(event=event.pk, donation=donation.pk)

    response = getattr(token_api, method)(url, {}, format="json")

    assert response.status_code == 404


def test_the_withdrawal_feed_pages_keep_their_json_and_atom_urls(dataset):
    json_feed = Client().get(reverse("releases:withdrawals_json", args=[dataset.slug]))
    atom_feed = Client().get(reverse("releases:withdrawals_atom", args=[dataset.slug]))

    assert json_feed.status_code == 200
    assert json_feed.json()["withdrawals"] == []
    assert atom_feed.status_code == 200
    assert json_feed.request["PATH_INFO"] == f"/datasets/{dataset.slug}/withdrawals.json"


# --- 12: ids that are not UUIDs ----------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/consent/events/null,null/",
        "/api/consent/events/null,null/receipt/",
        f"/api/consent/events/{'0' * 36}/",
        f"/api/rewards/payouts/{'0' * 36}/",
        "/api/rewards/payouts/not-a-uuid/",
        f"/api/donations/{'0' * 36}/",
        f"/api/donations/{'0' * 36}/preview/",
    ],
)
def test_ids_that_are_not_uuids_are_not_found(token_api, path):
    assert token_api.get(path).status_code == 404


def test_the_schema_types_uuid_ids(schema):
    for path in ("/api/consent/events/{id}/", "/api/rewards/payouts/{id}/", "/api/donations/{id}/"):
        (parameter,) = schema["paths"][path]["get"]["parameters"]
        assert parameter["schema"] == {"type": "string", "format": "uuid"}, path


# --- 13: deeply nested JSON --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "api:upload-list",
        "api:consent-event-list",
        "api:consent-event-withdraw",
        "api:reward-payout-list",
    ],
)
@pytest.mark.parametrize("depth", [2000, BoundedJSONParser.max_depth + 1])
def test_json_nested_too_deep_is_a_bad_request(token_api, name, depth):
    body = "[" * depth + "]" * depth

    response = token_api.post(reverse(name), body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "detail": f"JSON parse error - nested deeper than {BoundedJSONParser.max_depth} levels."
    }


def test_json_at_the_depth_bound_still_parses(token_api):
    depth = BoundedJSONParser.max_depth
    body = '{"donation": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"

    response = token_api.post(
        reverse("api:consent-event-withdraw"), body, content_type="application/json"
    )

    assert response.status_code == 400
    assert "donation" in response.json()


# --- 14: authentication answers 401; the schema documents errors and limits ---------------------


def test_a_bad_token_answers_401_with_a_challenge():
    response = Client(HTTP_AUTHORIZATION="Token not-a-token").get(reverse("api:dataset-list"))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"detail": "Invalid token."}


def test_no_credentials_answer_401_with_a_challenge():
    response = Client().get(reverse("api:donation-list"))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_browser_session_still_works_and_still_needs_csrf_for_writes(donor):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(donor)

    assert browser.get(reverse("api:donation-list")).status_code == 200
    refused = browser.post(
        reverse("api:consent-event-withdraw"), {}, content_type="application/json"
    )
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]


def test_withdraw_answers_the_plain_list_its_schema_states(token_api, donor, schema):
    stored_donation(donor)

    response = token_api.post(reverse("api:consent-event-withdraw"), {}, format="json")

    assert response.status_code == 200
    assert [row["action"] for row in response.json()] == [ConsentEvent.Action.WITHDRAW]
    operation = schema["paths"]["/api/consent/events/withdraw/"]["post"]
    assert _body_schema(operation, "200")["type"] == "array"


def test_signed_urls_are_documented_as_a_plain_list(schema):
    path = "/api/datasets/{dataset_slug}/releases/{version}/signed-urls/"
    operation = schema["paths"][path]["get"]
    assert _body_schema(operation, "200")["type"] == "array"
    assert {p["name"] for p in operation["parameters"]} == {"dataset_slug", "version"}


def test_every_operation_documents_its_error_responses(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            codes = set(operation["responses"])
            where = f"{method.upper()} {path}"
            assert "401" in codes, where
            if method == "post":
                assert {"400", "403", "413"} <= codes, where
            if "{" in path:
                assert "404" in codes, where
            for code in codes - {"200", "201", "204"}:
                assert _body_schema(operation, code)["$ref"].startswith(
                    "#/components/schemas/Error"
                ), where


def test_throttled_operations_document_429(schema):
    assert "429" in schema["paths"]["/api/uploads/"]["post"]["responses"]
    sign = "/api/uploads/{session_id}/parts/{part_number}/sign/"
    assert "429" in schema["paths"][sign]["post"]["responses"]
    assert "429" not in schema["paths"]["/api/datasets/"]["get"]["responses"]


def test_request_schemas_state_the_limits(schema, settings):
    components = schema["components"]["schemas"]
    files = components["UploadOpen"]["properties"]["files"]
    assert (files["minItems"], files["maxItems"]) == (1, 2)
    assert components["ConsentGrant"]["properties"]["scopes"]["minItems"] == 1
    credits = components["Payout"]["properties"]["credits"]
    assert credits["minimum"] == settings.REWARDS_PAYOUT_MINIMUM


def test_a_payout_below_the_minimum_is_refused_with_the_minimum_named(token_api, settings):
    settings.REWARDS_PAYOUT_MINIMUM = 100

    response = token_api.post(reverse("api:reward-payout-list"), {"credits": 99}, format="json")

    assert response.status_code == 400
    assert response.json() == {"credits": ["The smallest payout is 100 credits."]}


def test_a_body_over_the_upload_limit_answers_413(token_api, settings):
    body = '{"scopes": ["' + "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + '"]}'

    response = token_api.post(
        reverse("api:consent-event-list"), body, content_type="application/json"
    )

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


def _body_schema(operation: dict, code: str) -> dict:  # type: ignore[type-arg]
    return operation["responses"][code]["content"]["application/json"]["schema"]


def test_an_api_url_that_matches_no_route_answers_json_404():
    response = Client().get("/api/datasets/not%20a%20slug/releases/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_a_page_url_that_matches_nothing_keeps_the_html_404():
    response = Client().get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_the_schema_states_what_path_converters_match(schema):
    (slug,) = schema["paths"]["/api/datasets/{slug}/"]["get"]["parameters"]
    assert slug["schema"] == {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"}
    sign = schema["paths"]["/api/uploads/{session_id}/parts/{part_number}/sign/"]["post"]
    part = next(p for p in sign["parameters"] if p["name"] == "part_number")
    assert part["schema"] == {"type": "integer", "minimum": 0}
