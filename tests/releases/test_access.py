"""Who can fetch release files, through pages, API and storage URLs; range requests; the
data-use agreement; the download log."""

import hashlib
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings
from django.test import Client
from django.urls import reverse

from releases.access import Unsatisfiable, dua_accept, dua_sha256, range_parse
from releases.models import DataUseAgreementAcceptance, Download
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
def restricted(curator, consent_document):  # type: ignore[no-untyped-def]
    dataset = restricted_dataset()
    return published_release(
        dataset=dataset,
        curator=curator,
        donations=[accepted_donation(consent_document)],
        files={SHARD: payload(5000), "manifest.json": b'{"files": []}\n'},
    )


@pytest.fixture
def open_release(curator, consent_document):  # type: ignore[no-untyped-def]
    return published_release(
        dataset=DatasetFactory(),
        curator=curator,
        donations=[accepted_donation(consent_document)],
        files={SHARD: payload(3 * 1024 * 1024 + 17, seed=1), "manifest.json": b"{}\n"},
    )


def _file_url(release, path=SHARD) -> str:  # type: ignore[no-untyped-def]
    return reverse("releases:file", args=[release.dataset.slug, release.version, path])


def _signed_urls_url(release) -> str:  # type: ignore[no-untyped-def]
    return reverse("api:release-signed-urls", args=[release.dataset.slug, release.version])


# --- The access matrix ------------------------------------------------------------------------


def test_anonymous_visitors_get_404_for_restricted_files_through_page_and_api(restricted):
    anonymous = Client()
    assert anonymous.get(_file_url(restricted)).status_code == 404
    assert anonymous.get(_signed_urls_url(restricted)).status_code == 404
    page = anonymous.get(reverse("releases:release", args=["vr-motion-restricted", "1.0.0"]))
    assert page.status_code == 200
    assert f'href="{_file_url(restricted)}"' not in page.content.decode()
    assert "Downloading these files needs the dataset's data-use agreement." in (
        page.content.decode()
    )
    detail = anonymous.get(
        reverse("api:release-detail", args=["vr-motion-restricted", "1.0.0"])
    ).json()
    assert {f["url"] for f in detail["files"]} == {None}
    assert not Download.objects.exists()


def test_a_researcher_without_the_agreement_gets_403_through_page_file_url_and_api(
    client, restricted, researcher
):
    client.force_login(researcher)
    response = client.get(_file_url(restricted))
    assert response.status_code == 403
    assert response.content.decode() == "Accept the data-use agreement first."
    page = client.get(reverse("releases:release", args=["vr-motion-restricted", "1.0.0"]))
    assert f'href="{_file_url(restricted)}"' not in page.content.decode()
    api = token_client(researcher)
    denied = api.get(_signed_urls_url(restricted))
    assert denied.status_code == 403
    assert denied.json() == {"detail": "Accept the data-use agreement first."}
    # The file URL with the API token, as the downloader sends it: also 403.
    assert api.get(_file_url(restricted)).status_code == 403
    assert not Download.objects.exists()


def test_with_the_agreement_the_file_url_redirects_to_a_presigned_url_that_serves_the_file(
    client, restricted, researcher
):
    dua_accept(
        dataset=restricted.dataset,
        user=researcher,
        dua_sha256_seen=dua_sha256(dataset=restricted.dataset),
    )
    client.force_login(researcher)
    page = client.get(reverse("releases:release", args=["vr-motion-restricted", "1.0.0"]))
    assert f'href="{_file_url(restricted)}"' in page.content.decode()

    response = client.get(_file_url(restricted))
    assert response.status_code == 302
    signed = response["Location"]
    endpoint = settings.STORAGES["default"]["OPTIONS"]["endpoint_url"]
    assert signed.startswith(f"{endpoint}/metagen-test/releases/vr-motion-restricted/1.0.0/")
    assert "Signature=" in signed
    query = parse_qs(urlsplit(signed).query)
    assert int(query["Expires"][0]) - time.time() <= 15 * 60
    fetched = requests.get(signed, timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == payload(5000)
    issued = Download.objects.get()
    assert (issued.user, issued.via) == (researcher, "signed-url")


def test_the_api_gives_signed_urls_for_every_file_once_the_agreement_is_accepted(
    restricted, researcher
):
    dua_accept(
        dataset=restricted.dataset,
        user=researcher,
        dua_sha256_seen=dua_sha256(dataset=restricted.dataset),
    )
    api = token_client(researcher)
    rows = api.get(_signed_urls_url(restricted)).json()
    assert [r["path"] for r in rows] == ["data/motion-00000.parquet", "manifest.json"]
    shard = rows[0]
    assert shard["sha256"] == hashlib.sha256(payload(5000)).hexdigest()
    assert (
        hashlib.sha256(requests.get(shard["url"], timeout=10).content).hexdigest()
        == (shard["sha256"])
    )
    assert Download.objects.filter(user=researcher, via="signed-url").count() == 2
    detail = api.get(reverse("api:release-detail", args=["vr-motion-restricted", "1.0.0"]))
    assert detail.json()["files"][0]["url"].endswith(_file_url(restricted))


def test_a_new_agreement_text_needs_a_new_acceptance(client, restricted, researcher):
    dataset = restricted.dataset
    dua_accept(dataset=dataset, user=researcher, dua_sha256_seen=dua_sha256(dataset=dataset))
    client.force_login(researcher)
    assert client.get(_file_url(restricted)).status_code == 302

    dataset.dua_text = "Do not try to re-identify anyone. Delete withdrawn recordings.\n"
    dataset.save(update_fields=["dua_text"])
    assert client.get(_file_url(restricted)).status_code == 403
    assert token_client(researcher).get(_signed_urls_url(restricted)).status_code == 403

    agreement = client.get(reverse("releases:agreement", args=[dataset.slug])).content.decode()
    new_hash = hashlib.sha256(dataset.dua_text.encode()).hexdigest()
    assert f'<span class="mono" id="dua-sha256">{new_hash}</span>' in agreement
    client.post(reverse("releases:agreement", args=[dataset.slug]), {"sha256": new_hash})
    assert client.get(_file_url(restricted)).status_code == 302
    hashes = set(
        DataUseAgreementAcceptance.objects.filter(user=researcher).values_list(
            "dua_sha256", flat=True
        )
    )
    assert hashes == {new_hash, hashlib.sha256(b"Do not try to re-identify anyone.\n").hexdigest()}


def test_accepting_a_text_that_changed_since_it_was_shown_records_nothing(
    client, restricted, researcher
):
    client.force_login(researcher)
    response = client.post(
        reverse("releases:agreement", args=[restricted.dataset.slug]),
        {"sha256": "0" * 64},
        follow=True,
    )
    assert "The agreement changed since you opened it; read it again." in (
        response.content.decode()
    )
    assert not DataUseAgreementAcceptance.objects.exists()


def test_accepting_twice_records_one_acceptance(client, restricted, researcher):
    client.force_login(researcher)
    url = reverse("releases:agreement", args=[restricted.dataset.slug])
    sha = dua_sha256(dataset=restricted.dataset)
    client.post(url, {"sha256": sha})
    client.post(url, {"sha256": sha})
    assert DataUseAgreementAcceptance.objects.filter(user=researcher).count() == 1


def test_accepting_needs_a_sign_in(restricted):
    response = Client().post(
        reverse("releases:agreement", args=[restricted.dataset.slug]),
        {"sha256": dua_sha256(dataset=restricted.dataset)},
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert not DataUseAgreementAcceptance.objects.exists()


def test_the_raw_storage_url_of_a_restricted_file_is_refused_without_a_signature(restricted):
    endpoint = settings.STORAGES["default"]["OPTIONS"]["endpoint_url"]
    key = f"{restricted.storage_prefix}{SHARD}"
    response = requests.get(f"{endpoint}/metagen-test/{key}", timeout=10)
    assert response.status_code == 403
    assert payload(5000) not in response.content


def test_a_forged_or_foreign_signature_is_404(client, restricted, researcher, open_release):
    from django.core import signing

    forged = client.get(_file_url(restricted) + "?signature=nonsense")
    assert forged.status_code == 404
    # A valid signature for another file does not open this one.
    other = open_release.files.get(path=SHARD)
    signature = signing.TimestampSigner(salt="releases.file").sign(f"{other.pk}:{researcher.pk}")
    assert client.get(_file_url(restricted) + f"?signature={signature}").status_code == 404


def test_a_local_signed_url_serves_the_file_and_expires(restricted, researcher, settings):
    """The signed Django URL (local storage's stand-in for presigned URLs) opens the file for
    15 minutes to the researcher it was issued to, and is logged at issue and at download."""
    from django.core import signing

    from releases import access

    dua_accept(
        dataset=restricted.dataset,
        user=researcher,
        dua_sha256_seen=dua_sha256(dataset=restricted.dataset),
    )
    release_file = restricted.files.get(path=SHARD)
    signature = signing.TimestampSigner(salt="releases.file").sign(
        f"{release_file.pk}:{researcher.pk}"
    )
    anonymous = Client()
    response = anonymous.get(_file_url(restricted) + f"?signature={signature}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == payload(5000)
    assert Download.objects.get().via == "signed"
    assert access.signed_url_check(release_file=release_file, signature=signature) == researcher

    old = signing.TimestampSigner(salt="releases.file")
    old.timestamp = lambda: signing.b62_encode(int(__import__("time").time()) - 16 * 60)  # type: ignore[method-assign]
    expired = old.sign(f"{release_file.pk}:{researcher.pk}")
    assert anonymous.get(_file_url(restricted) + f"?signature={expired}").status_code == 404


# --- Open files and byte ranges ---------------------------------------------------------------


def test_open_files_are_plain_urls_with_the_checksum_as_etag(client, open_release):
    response = client.get(_file_url(open_release))
    data = b"".join(response.streaming_content)
    assert response.status_code == 200
    assert data == payload(3 * 1024 * 1024 + 17, seed=1)
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == str(len(data))
    assert response["ETag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert Download.objects.get().via == "web"


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=1048570-1048600", 1048570, 1048600),
        ("bytes=3145000-", 3145000, 3 * 1024 * 1024 + 16),
        ("bytes=-10", 3 * 1024 * 1024 + 7, 3 * 1024 * 1024 + 16),
        ("bytes=3145700-99999999", 3145700, 3 * 1024 * 1024 + 16),
    ],
)
def test_a_range_request_gets_exactly_that_span(client, open_release, header, start, end):
    whole = payload(3 * 1024 * 1024 + 17, seed=1)
    response = client.get(_file_url(open_release), HTTP_RANGE=header)
    assert response.status_code == 206
    assert b"".join(response.streaming_content) == whole[start : end + 1]
    assert response["Content-Range"] == f"bytes {start}-{end}/{len(whole)}"
    assert response["Content-Length"] == str(end - start + 1)


def test_a_range_past_the_end_is_416(client, open_release):
    size = 3 * 1024 * 1024 + 17
    response = client.get(_file_url(open_release), HTTP_RANGE=f"bytes={size}-")
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{size}"


def test_if_range_with_another_etag_sends_the_whole_file(client, open_release):
    response = client.get(
        _file_url(open_release), HTTP_RANGE="bytes=10-20", HTTP_IF_RANGE='"not-this-file"'
    )
    assert response.status_code == 200
    assert len(b"".join(response.streaming_content)) == 3 * 1024 * 1024 + 17
    sha = open_release.files.get(path=SHARD).sha256
    same = client.get(_file_url(open_release), HTTP_RANGE="bytes=10-20", HTTP_IF_RANGE=f'"{sha}"')
    assert same.status_code == 206


def test_several_ranges_or_a_malformed_one_get_the_whole_file(client, open_release):
    for header in ("bytes=0-1,5-6", "bytes=abc", "items=0-1"):
        response = client.get(_file_url(open_release), HTTP_RANGE=header)
        assert response.status_code == 200, header


def test_range_parse_rules():
    assert range_parse(header="bytes=5-", size=10).start == 5
    assert range_parse(header="bytes=-3", size=10).start == 7
    assert range_parse(header="bytes=9-1", size=10) is None
    with pytest.raises(Unsatisfiable):
        range_parse(header="bytes=10-", size=10)
    with pytest.raises(Unsatisfiable):
        range_parse(header="bytes=-0", size=10)


@pytest.mark.django_db(transaction=True)
def test_an_interrupted_download_resumes_like_wget_c(live_server, curator, consent_document):
    """Over real HTTP: fetch half, then continue with Range from the bytes on disk."""
    release = published_release(
        dataset=DatasetFactory(),
        curator=curator,
        donations=[accepted_donation(consent_document)],
        files={SHARD: payload(2 * 1024 * 1024 + 5, seed=3)},
    )
    url = live_server.url + _file_url(release)
    got = b""
    with requests.get(url, stream=True, timeout=10) as first:
        for chunk in first.iter_content(64 * 1024):
            got += chunk
            if len(got) >= 700_000:
                break
    etag = first.headers["ETag"]
    rest = requests.get(url, headers={"Range": f"bytes={len(got)}-", "If-Range": etag}, timeout=10)
    assert rest.status_code == 206
    assert got + rest.content == payload(2 * 1024 * 1024 + 5, seed=3)


@pytest.mark.django_db(transaction=True)
def test_wget_continues_a_partial_file(live_server, curator, consent_document, tmp_path):
    import shutil
    import subprocess

    wget = shutil.which("wget")
    if wget is None:
        pytest.fail("wget is not installed (apt-get install wget)")
    whole = payload(1024 * 1024 + 3, seed=4)
    release = published_release(
        dataset=DatasetFactory(),
        curator=curator,
        donations=[accepted_donation(consent_document)],
        files={SHARD: whole},
    )
    target = tmp_path / "motion-00000.parquet"
    target.write_bytes(whole[:400_000])
    result = subprocess.run(
        [wget, "-q", "-c", "-O", str(target), live_server.url + _file_url(release)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert target.read_bytes() == whole


def test_without_s3_a_signed_django_url_is_issued_logged_and_served(
    restricted, researcher, monkeypatch
):
    """Local-disk deployments have no presigned URLs: the file URL carries a TimestampSigner
    signature instead. (Storage stays moto's here; only the choice of URL is switched.)"""
    from releases import access

    monkeypatch.setattr(access, "_is_s3", lambda: False)
    dua_accept(
        dataset=restricted.dataset,
        user=researcher,
        dua_sha256_seen=dua_sha256(dataset=restricted.dataset),
    )
    client = Client()
    client.force_login(researcher)
    signed = client.get(_file_url(restricted))["Location"]
    assert signed.startswith(f"http://testserver{_file_url(restricted)}?signature=")
    fetched = Client().get(signed.removeprefix("http://testserver"), HTTP_RANGE="bytes=100-199")
    assert fetched.status_code == 206
    assert b"".join(fetched.streaming_content) == payload(5000)[100:200]
    assert list(Download.objects.order_by("pk").values_list("via", "user")) == [
        ("signed-url", researcher.pk),
        ("signed", researcher.pk),
    ]
