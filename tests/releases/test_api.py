"""The releases API: datasets, releases, files, signed URLs, the withdrawal feed; in the schema."""

import pytest
from django.test import Client
from django.urls import reverse

from consent.models import ConsentEvent
from donations.services import donation_withdraw
from releases.access import dua_accept, dua_sha256
from releases.models import Download, Release
from releases.pseudonyms import pseudonym
from tests.factories import DatasetFactory
from tests.releases.access_support import (
    accepted_donation,
    payload,
    published_release,
    restricted_dataset,
    token_client,
)

pytestmark = pytest.mark.django_db

SHARD = "data/motion-00000.parquet"


@pytest.fixture
def releases(curator, consent_document):  # type: ignore[no-untyped-def]
    donation = accepted_donation(consent_document)
    files = {SHARD: payload(1000), "manifest.json": b"{}\n"}
    return {
        "open": published_release(
            dataset=DatasetFactory(), curator=curator, donations=[donation], files=files
        ),
        "restricted": published_release(
            dataset=restricted_dataset(), curator=curator, donations=[donation], files=files
        ),
    }


def test_the_dataset_list_says_which_agreements_the_caller_accepted(
    releases, researcher, django_assert_num_queries
):
    anonymous = Client().get(reverse("api:dataset-list")).json()
    by_slug = {d["slug"]: d for d in anonymous["results"]}
    assert by_slug["vr-motion-open"]["dua_accepted"] is True
    assert by_slug["vr-motion-restricted"]["dua_accepted"] is False
    assert by_slug["vr-motion-restricted"]["access_tier"] == "restricted"

    dataset = releases["restricted"].dataset
    dua_accept(dataset=dataset, user=researcher, dua_sha256_seen=dua_sha256(dataset=dataset))
    api = token_client(researcher)
    for n in range(3):
        restricted_dataset(slug=f"restricted-{n}")
    with django_assert_num_queries(3):  # token, count, page (acceptance in the page query)
        mine = api.get(reverse("api:dataset-list")).json()
    assert {d["slug"]: d["dua_accepted"] for d in mine["results"]} == {
        "vr-motion-open": True,
        "vr-motion-restricted": True,
        "restricted-0": False,
        "restricted-1": False,
        "restricted-2": False,
    }


def test_release_list_costs_the_same_queries_for_one_or_five_releases(
    releases, curator, consent_document, django_assert_num_queries
):
    url = reverse("api:release-list", args=["vr-motion-open"])
    with django_assert_num_queries(4):  # dataset, count, page, files
        first = Client().get(url).json()
    assert [r["version"] for r in first["results"]] == ["1.0.0"]
    dataset = releases["open"].dataset
    for minor in range(1, 5):
        published_release(
            dataset=dataset,
            curator=curator,
            donations=[],
            files={"manifest.json": b"{}\n"},
            version=f"1.{minor}.0",
            status=Release.Status.SUPERSEDED,
        )
    with django_assert_num_queries(4):
        later = Client().get(url).json()
    assert len(later["results"]) == 5


def test_open_release_files_have_stable_urls_sizes_and_checksums(releases):
    detail = Client().get(reverse("api:release-detail", args=["vr-motion-open", "1.0.0"])).json()
    shard = next(f for f in detail["files"] if f["path"] == SHARD)
    assert shard["size"] == 1000
    assert shard["sha256"] == releases["open"].files.get(path=SHARD).sha256
    assert shard["url"] == f"http://testserver/datasets/vr-motion-open/1.0.0/files/{SHARD}"


def test_signed_urls_of_an_open_release_are_its_stable_urls_and_not_logged(releases):
    rows = Client().get(reverse("api:release-signed-urls", args=["vr-motion-open", "1.0.0"])).json()
    assert [r["url"] for r in rows] == [
        f"http://testserver/datasets/vr-motion-open/1.0.0/files/{SHARD}",
        "http://testserver/datasets/vr-motion-open/1.0.0/files/manifest.json",
    ]
    assert not Download.objects.exists()


def test_restricted_signed_urls_answer_404_403_then_urls(releases, researcher):
    url = reverse("api:release-signed-urls", args=["vr-motion-restricted", "1.0.0"])
    assert Client().get(url).status_code == 404
    api = token_client(researcher)
    assert api.get(url).status_code == 403
    dataset = releases["restricted"].dataset
    dua_accept(dataset=dataset, user=researcher, dua_sha256_seen=dua_sha256(dataset=dataset))
    rows = api.get(url).json()
    assert len(rows) == 2
    assert all("Signature=" in r["url"] for r in rows)


def test_a_bad_token_is_refused(releases):
    response = Client(HTTP_AUTHORIZATION="Token not-a-token").get(
        reverse("api:release-signed-urls", args=["vr-motion-restricted", "1.0.0"])
    )
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_the_withdrawal_feed_in_the_api(releases):
    release = releases["open"]
    item = release.items.get()
    donation = item.donation
    donation_withdraw(donor=donation.donor, donation=donation, method=ConsentEvent.Method.WEB)
    feed = Client().get(reverse("api:dataset-withdrawals", args=["vr-motion-open"])).json()
    recording = pseudonym(
        secret=release.dataset.pseudonym_secret, kind="recording", value=donation.pk
    )
    assert [(w["recording_id"], w["releases"]) for w in feed["withdrawals"]] == [
        (recording, ["1.0.0"])
    ]
    # Unlinkable across datasets: the restricted dataset lists the same donation under its own id.
    other = Client().get(reverse("api:dataset-withdrawals", args=["vr-motion-restricted"])).json()
    assert other["withdrawals"][0]["recording_id"] != recording


def test_the_schema_documents_datasets_releases_signed_urls_and_withdrawals(client):
    schema = client.get(reverse("schema"), HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert "/api/datasets/" in paths
    assert "/api/datasets/{dataset_slug}/releases/{version}/" in paths
    assert "/api/datasets/{dataset_slug}/releases/{version}/signed-urls/" in paths
    assert "/api/datasets/{slug}/withdrawals/" in paths


def test_the_api_hashes_the_agreement_as_the_page_does_and_sees_a_new_text(releases, researcher):
    dataset = releases["restricted"].dataset
    dataset.dua_text = "Ne ré-identifiez personne. 再識別しないこと。\n"
    dataset.save(update_fields=["dua_text"])
    dua_accept(dataset=dataset, user=researcher, dua_sha256_seen=dua_sha256(dataset=dataset))
    api = token_client(researcher)
    url = reverse("api:dataset-detail", args=["vr-motion-restricted"])
    assert api.get(url).json()["dua_accepted"] is True
    assert {d["dua_accepted"] for d in api.get(reverse("api:dataset-list")).json()["results"]} == {
        True
    }
    dataset.dua_text += "Delete withdrawn recordings.\n"
    dataset.save(update_fields=["dua_text"])
    assert api.get(url).json()["dua_accepted"] is False
