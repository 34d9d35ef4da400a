"""Catalogue pages: stats with their definitions, file lists, snippets, citation, the
withdrawal feed and what superseded and affected release pages say."""

import json
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

from consent.models import ConsentEvent
from donations.services import donation_withdraw
from releases.models import Release
from releases.pseudonyms import pseudonym
from tests.conftest import browser_sign_in
from tests.factories import DatasetFactory
from tests.releases.access_support import (
    HEAD_AND_HANDS,
    accepted_donation,
    payload,
    published_release,
    restricted_dataset,
)

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
SHARD = "data/motion-00000.parquet"


@pytest.fixture
def dataset():  # type: ignore[no-untyped-def]
    return DatasetFactory()


@pytest.fixture
def donations(consent_document):  # type: ignore[no-untyped-def]
    """Three recordings from two donors: two BSOR head-and-hands (60 s and 30 s, one donor)
    and one BVH with a skeleton (5310 s)."""
    first = accepted_donation(consent_document, duration_s=60.0)
    second = accepted_donation(consent_document, donor=first.donor, duration_s=30.0)
    third = accepted_donation(
        consent_document,
        source_format="bvh",
        duration_s=5310.0,
        skeleton={"Hips": None},
        tracks=[{"name": "Hips", "role": "joint"}, *HEAD_AND_HANDS],
    )
    return [first, second, third]


@pytest.fixture
def release(dataset, curator, donations):  # type: ignore[no-untyped-def]
    return published_release(
        dataset=dataset,
        curator=curator,
        donations=donations,
        files={SHARD: payload(2048), "recordings.parquet": payload(100, seed=2)},
    )


def test_the_release_page_states_the_figures_and_how_they_are_defined(client, release):
    page = client.get(reverse("releases:release", args=["vr-motion-open", "1.0.0"]))
    html = page.content.decode()
    assert "<dt>Recordings</dt><dd>3</dd>" in html
    assert "<dt>Contributors</dt><dd>2</dd>" in html
    assert "<dt>Hours</dt><dd>1.50</dd>" in html  # (60 + 30 + 5310) s
    assert "<dt>Formats</dt><dd>BSOR: 2, BVH: 1</dd>" in html
    assert "<dt>Devices</dt><dd>head-and-hands: 2, full-body: 1</dd>" in html
    assert "Hours: the sum of the recordings&#x27; durations." in html or (
        "Hours: the sum of the recordings' durations." in html
    )
    assert "Contributors: distinct pseudonymous donor ids among them." in html


def test_the_release_page_lists_files_with_sizes_checksums_and_stable_links(client, release):
    html = client.get(
        reverse("releases:release", args=["vr-motion-open", "1.0.0"])
    ).content.decode()
    shard = release.files.get(path=SHARD)
    assert f'<a href="/datasets/vr-motion-open/1.0.0/files/{SHARD}">{SHARD}</a>' in html
    assert f'<td class="mono">{shard.sha256}</td>' in html
    assert "(2048 B)" in html


def test_the_release_page_has_load_snippets_downloader_and_citation(client, release):
    html = client.get(
        reverse("releases:release", args=["vr-motion-open", "1.0.0"])
    ).content.decode()
    assert 'ds.dataset("vr-motion-open-1.0.0/data", format="parquet").to_table()' in html
    assert 'pl.scan_parquet("vr-motion-open-1.0.0/data/*.parquet")' in html
    assert 'load_dataset("parquet", data_files="vr-motion-open-1.0.0/data/*.parquet"' in html
    assert f'"http://testserver/datasets/vr-motion-open/1.0.0/files/{SHARD}",' in html
    assert '<a href="/datasets/metagen_download.py">metagen_download.py</a>' in html
    assert "python3 metagen_download.py http://testserver vr-motion-open 1.0.0" in html
    year = release.published_at.year
    assert (
        f"MetaGen contributors ({year}). <em>MetaGen VR Motion (open)</em> (version 1.0.0) "
        "[Data set]." in html
    )
    assert "@misc{metagen_vrmotionopen_100," in html
    assert "  title        = {MetaGen VR Motion (open)}," in html


def test_the_catalogue_shows_each_dataset_with_its_newest_release_in_constant_queries(
    client, release, curator, consent_document, django_assert_num_queries
):
    with django_assert_num_queries(1):
        page = client.get(reverse("releases:catalogue"))
    html = page.content.decode()
    assert "<td>1.0.0</td>\n      <td>3</td>\n      <td>1.50</td>" in html
    for n in range(4):
        other = restricted_dataset(slug=f"restricted-{n}")
        published_release(
            dataset=other,
            curator=curator,
            donations=[accepted_donation(consent_document)],
            files={SHARD: b"x"},
        )
    with django_assert_num_queries(1):
        page = client.get(reverse("releases:catalogue"))
    assert page.content.decode().count("<td>Restricted (data-use agreement)</td>") == 4


def test_the_dataset_page_lists_releases_with_figures_in_constant_queries(
    client, release, dataset, curator, donations, django_assert_num_queries
):
    with django_assert_num_queries(2):  # the dataset, its releases with figures
        page = client.get(reverse("releases:dataset", args=["vr-motion-open"]))
    html = page.content.decode()
    assert "<td>3</td><td>2</td><td>1.50</td>" in html
    for minor in range(1, 5):
        published_release(
            dataset=dataset,
            curator=curator,
            donations=donations[:1],
            files={},
            version=f"1.{minor}.0",
            status=Release.Status.SUPERSEDED,
        )
    with django_assert_num_queries(2):
        page = client.get(reverse("releases:dataset", args=["vr-motion-open"]))
    assert page.content.decode().count("<td>1</td><td>1</td><td>0.02</td>") == 4


def test_an_unknown_dataset_or_release_is_404(client, release):
    assert client.get(reverse("releases:dataset", args=["nope"])).status_code == 404
    assert (
        client.get(reverse("releases:release", args=["vr-motion-open", "9.9.9"])).status_code == 404
    )
    assert client.get(reverse("releases:withdrawals_json", args=["nope"])).status_code == 404


def test_a_draft_release_is_not_shown(client, dataset, curator, donations):
    published_release(
        dataset=dataset, curator=curator, donations=donations, files={}, status=Release.Status.BUILT
    )
    assert (
        client.get(reverse("releases:release", args=["vr-motion-open", "1.0.0"])).status_code == 404
    )


def test_a_superseded_release_says_so_and_links_the_newest(client, dataset, curator, donations):
    published_release(
        dataset=dataset,
        curator=curator,
        donations=donations,
        files={},
        status=Release.Status.SUPERSEDED,
    )
    published_release(
        dataset=dataset, curator=curator, donations=donations, files={}, version="1.1.0"
    )
    html = client.get(
        reverse("releases:release", args=["vr-motion-open", "1.0.0"])
    ).content.decode()
    assert "This release is superseded by version 1.1.0." in html
    assert '<a href="/datasets/vr-motion-open/1.1.0/">Go to the newest release</a>' in html
    newest = client.get(
        reverse("releases:release", args=["vr-motion-open", "1.1.0"])
    ).content.decode()
    assert "superseded" not in newest


def _withdraw(donation) -> None:  # type: ignore[no-untyped-def]
    donation_withdraw(donor=donation.donor, donation=donation, method=ConsentEvent.Method.WEB)


def test_withdrawals_show_on_affected_release_pages_and_in_the_json_feed(
    client, release, dataset, donations, curator
):
    later = published_release(
        dataset=dataset, curator=curator, donations=donations[1:], files={}, version="1.1.0"
    )
    _withdraw(donations[1])
    _withdraw(donations[0])

    html = client.get(
        reverse("releases:release", args=["vr-motion-open", "1.0.0"])
    ).content.decode()
    assert "2 recordings in this release were withdrawn since; see the feed:" in html
    html = client.get(
        reverse("releases:release", args=[later.dataset.slug, "1.1.0"])
    ).content.decode()
    assert "1 recording in this release was withdrawn since; see the feed:" in html

    feed = client.get(reverse("releases:withdrawals_json", args=["vr-motion-open"])).json()
    ids = {
        d.pk: pseudonym(secret=dataset.pseudonym_secret, kind="recording", value=d.pk)
        for d in donations
    }
    assert feed["dataset"] == "vr-motion-open"
    assert [(w["recording_id"], w["releases"]) for w in feed["withdrawals"]] == [
        (ids[donations[0].pk], ["1.0.0"]),
        (ids[donations[1].pk], ["1.0.0", "1.1.0"]),
    ]
    first, second = donations[0], donations[1]
    withdrawn_at = {
        d.pk: d.history.get(to_status="withdrawn").created_at.isoformat() for d in (first, second)
    }
    assert feed["withdrawals"][0]["withdrawn_at"] == withdrawn_at[first.pk]
    assert str(first.pk) not in json.dumps(feed)


def test_the_atom_feed_parses_and_lists_the_same_withdrawals(client, release, donations, dataset):
    _withdraw(donations[2])
    response = client.get(reverse("releases:withdrawals_atom", args=["vr-motion-open"]))
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    assert root.findtext(f"{ATOM}title") == "Withdrawals from MetaGen VR Motion (open)"
    entries = root.findall(f"{ATOM}entry")
    recording = pseudonym(secret=dataset.pseudonym_secret, kind="recording", value=donations[2].pk)
    assert [e.findtext(f"{ATOM}title") for e in entries] == [recording]
    assert entries[0].findtext(f"{ATOM}id") == f"urn:metagen:vr-motion-open:withdrawn:{recording}"
    assert [c.get("term") for c in entries[0].findall(f"{ATOM}category")] == ["1.0.0"]


def test_the_feed_is_empty_when_nothing_was_withdrawn(client, release):
    assert (
        client.get(reverse("releases:withdrawals_json", args=["vr-motion-open"])).json()[
            "withdrawals"
        ]
        == []
    )
    root = ET.fromstring(
        client.get(reverse("releases:withdrawals_atom", args=["vr-motion-open"])).content
    )
    assert root.findall(f"{ATOM}entry") == []


def test_the_downloader_is_served_from_the_repository(client):
    from pathlib import Path

    response = client.get(reverse("releases:downloader"))
    body = b"".join(response.streaming_content)
    assert response.status_code == 200
    assert (
        body == (Path(__file__).resolve().parents[2] / "tools" / "metagen_download.py").read_bytes()
    )
    assert response["Content-Disposition"] == 'attachment; filename="metagen_download.py"'


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_catalogue_release_agreement_and_curation_pages_have_no_serious_accessibility_violation(
    page, live_server, curator, consent_document
):
    from pathlib import Path

    axe = Path(__file__).resolve().parents[1] / "vendor" / "axe-core" / "axe.min.js"
    donation = accepted_donation(consent_document)
    published_release(
        dataset=DatasetFactory(), curator=curator, donations=[donation], files={SHARD: b"x"}
    )
    published_release(
        dataset=restricted_dataset(), curator=curator, donations=[donation], files={SHARD: b"x"}
    )
    browser_sign_in(page, live_server, curator)
    for path in (
        "/datasets/",
        "/datasets/vr-motion-open/",
        "/datasets/vr-motion-open/1.0.0/",
        "/datasets/vr-motion-restricted/1.0.0/",
        "/datasets/vr-motion-restricted/agreement/",
        "/curate/",
    ):
        response = page.goto(live_server.url + path)
        assert response is not None
        assert response.status == 200, path
        page.evaluate(axe.read_text())  # not a script tag: the site's CSP refuses inline ones
        violations = page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        )
        blocking = [
            f"{v['id']}: {v['help']}" for v in violations if v["impact"] in {"serious", "critical"}
        ]
        assert not blocking, f"{path}: {blocking}"
