"""Real-service fixtures: moto's S3 server over HTTP, Celery worker processes, seeded rows.

PostgreSQL and Redis are started by scripts/test; the environment it exports points the settings
at them. Nothing here is mocked: storage calls cross HTTP and tasks run in other processes.
"""

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
VENV_BIN = Path(sys.executable).parent


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def wait_for(predicate: Callable[[], object], *, timeout: float = 60, what: str = "condition"):
    """Poll until predicate() is truthy; returns its value. Fails the test naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"Timed out after {timeout:.0f}s waiting for {what}")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's standalone S3 server on the endpoint the settings name, with the bucket created."""
    from django.conf import settings

    if settings.STORAGE_BACKEND != "s3":
        pytest.fail("The tests need STORAGE_BACKEND=s3; run them with scripts/test.")
    endpoint = settings.STORAGES["default"]["OPTIONS"]["endpoint_url"]
    url = urlparse(endpoint)
    process = None
    if not _port_open(url.hostname, url.port):
        log = (tmp_path_factory.mktemp("moto") / "moto.log").open("w")
        process = subprocess.Popen(
            [VENV_BIN / "moto_server", "-H", url.hostname, "-p", str(url.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for(lambda: _port_open(url.hostname, url.port), timeout=30, what="moto server")
    client = s3_client()
    bucket = settings.STORAGES["default"]["OPTIONS"]["bucket_name"]
    existing = {b["Name"] for b in client.list_buckets()["Buckets"]}
    if bucket not in existing:
        client.create_bucket(Bucket=bucket)
    # Browsers PUT upload parts straight to the bucket: production buckets need this rule too.
    client.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": ["*"],
                    "AllowedMethods": ["PUT"],
                    "AllowedHeaders": ["content-type", "x-amz-checksum-sha256"],
                    "ExposeHeaders": ["ETag"],
                    "MaxAgeSeconds": 3600,
                }
            ]
        },
    )
    yield bucket
    if process is not None:
        process.terminate()
        process.wait(timeout=10)


def s3_client():  # type: ignore[no-untyped-def]
    import boto3
    from django.conf import settings

    options = settings.STORAGES["default"]["OPTIONS"]
    return boto3.client(
        "s3",
        endpoint_url=options["endpoint_url"],
        aws_access_key_id=options["access_key"],
        aws_secret_access_key=options["secret_key"],
        region_name=options["region_name"],
    )


@pytest.fixture(autouse=True)
def object_storage(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every Django test starts and ends with an empty bucket, so no test sees another's objects."""
    if "django_db_setup" not in request.fixturenames and not request.node.get_closest_marker(
        "django_db"
    ):
        yield
        return
    bucket = request.getfixturevalue("s3_server")
    _empty_bucket(bucket)
    yield
    _empty_bucket(bucket)


@pytest.fixture(autouse=True)
def empty_cache(request: pytest.FixtureRequest) -> None:
    """The cache is real Redis and outlives a run: rate limits (allauth's among them) must not
    carry over from one test to the next."""
    if "django_db_setup" in request.fixturenames or request.node.get_closest_marker("django_db"):
        from django.core.cache import cache

        cache.clear()


def _empty_bucket(bucket: str) -> None:
    client = s3_client()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys})


def bucket_keys() -> list[str]:
    from django.conf import settings

    bucket = settings.STORAGES["default"]["OPTIONS"]["bucket_name"]
    client = s3_client()
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
    return sorted(keys)


def _database_url(settings_dict: dict[str, object]) -> str:
    user = settings_dict.get("USER") or ""
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


def start_worker(
    *, name: str, log_path: Path, queue: str | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start `celery worker` on the test database and wait until it answers a ping."""
    from django.db import connection

    from metagen.celery import app

    full_env = {
        **os.environ,
        "DATABASE_URL": _database_url(connection.settings_dict),
        **(env or {}),
    }
    command = [
        str(VENV_BIN / "celery"),
        "-A",
        "metagen",
        "worker",
        "--loglevel=INFO",
        "--concurrency=2",
        "--without-gossip",
        "--without-mingle",
        "-n",
        f"{name}@%h",
    ]
    if queue:
        command += ["-Q", queue]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT
        )
    hostname = f"{name}@{socket.gethostname()}"
    wait_for(
        lambda: process.poll() is not None or app.control.ping([hostname], timeout=0.5),
        timeout=60,
        what=f"the Celery worker {name} to answer a ping",
    )
    if process.poll() is not None:
        pytest.fail(f"The Celery worker {name} exited:\n{log_path.read_text()[-4000:]}")
    return process


def stop_worker(process: subprocess.Popen[bytes], log_path: Path) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if os.environ.get("SHOW_WORKER_LOG"):
        sys.stderr.write(log_path.read_text())


@pytest.fixture(scope="session")
def celery_worker(
    django_db_setup: None,
    django_db_blocker: object,
    s3_server: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[subprocess.Popen[bytes]]:
    """A real `celery worker` process on the test database, the test broker and moto's S3.

    Tests that use it must commit their rows (django_db(transaction=True)) for the worker to see.
    """
    from metagen.celery import app

    app.control.purge()
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    process = start_worker(name="test", log_path=log_path)
    yield process
    stop_worker(process, log_path)


@pytest.fixture
def worker_factory(
    django_db_setup: None, s3_server: str, tmp_path: Path
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start extra workers with their own queue and environment; all stopped after the test."""
    started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(*, name: str, queue: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        log_path = tmp_path / f"{name}.log"
        process = start_worker(name=name, queue=queue, env=env, log_path=log_path)
        started.append((process, log_path))
        return process

    yield start
    for process, log_path in started:
        stop_worker(process, log_path)


# --- Seeded rows. Transactional tests flush the tables, so fixtures create what they need. ---


@pytest.fixture
def consent_document():  # type: ignore[no-untyped-def]
    from tests.factories import ConsentDocumentFactory

    return ConsentDocumentFactory()


@pytest.fixture
def dataset():  # type: ignore[no-untyped-def]
    from tests.factories import DatasetFactory

    return DatasetFactory()


@pytest.fixture
def curator():  # type: ignore[no-untyped-def]
    from accounts.services import user_create_verified

    return user_create_verified(
        email="curator@example.org", password="curate-it-2026", curator=True
    )


@pytest.fixture
def donor():  # type: ignore[no-untyped-def]
    from accounts.services import user_create_verified

    return user_create_verified(email="donor@example.org", password="donate-it-2026")


@pytest.fixture
def researcher():  # type: ignore[no-untyped-def]
    from accounts.services import user_create_verified

    return user_create_verified(email="researcher@example.org", password="research-it-2026")


# --- Headless Chromium (Debian's package), driven by Playwright. ---

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def chromium():  # type: ignore[no-untyped-def]
    import shutil

    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in the main thread, which trips Django's guard
    # against ORM calls from async code even though no coroutine touches the database.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed; scripts/test installs it (as root).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):  # type: ignore[no-untyped-def]
    context = chromium.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def browser_sign_in(page, live_server, user) -> None:  # type: ignore[no-untyped-def]
    """Give the browser page a session of `user` without going through the login form."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def process_here(donation_id: object):  # type: ignore[no-untyped-def]
    """Process a donation in this process and return it once settled.

    In transactional tests the task queued on commit may reach a session worker first; then
    that run owns the donation (donation_process leaves it alone), so wait for it to settle.
    """
    from donations.models import Donation, DonationStatus
    from processing.services import donation_process

    donation_process(donation_id=str(donation_id))
    return wait_for(
        lambda: (
            Donation.objects.filter(pk=donation_id)
            .exclude(status__in=[DonationStatus.UPLOADED, DonationStatus.PROCESSING])
            .first()
        ),
        timeout=90,
        what="the donation's processing to settle",
    )


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def broker_unreachable() -> Iterator[None]:
    """Point this process's Celery app at a closed port: every publish meets a real refused
    connection, as when Redis is down. The app's connection pools are set aside on the way in
    (so nothing already connected slips through) and put back on the way out."""
    from metagen.celery import app

    # Publishing reads broker_write_url; Celery lets CELERY_BROKER_URL in the environment win
    # over broker_url, but not over broker_write_url.
    saved = (app.conf.broker_write_url, app._pool, app.amqp._producer_pool)
    app._pool = app.amqp._producer_pool = None
    port = closed_port()
    app.conf.broker_write_url = f"redis://127.0.0.1:{port}/0"
    try:
        if app.connection_for_write().port != port:
            pytest.fail("broker_unreachable did not redirect publishing")
        yield
    finally:
        app.conf.broker_write_url, app._pool, app.amqp._producer_pool = saved


@contextlib.contextmanager
def storage_unreachable() -> Iterator[None]:
    """Point this process's object storage (django-storages' S3Storage) at a closed port: every
    storage call meets a real refused connection, as when S3 is down. Its cached clients are set
    aside on the way in and put back on the way out."""
    import threading

    from django.core.files.storage import default_storage

    default_storage.exists("warm-up")  # the lazy wrapper builds the real storage
    storage = default_storage._wrapped
    saved = (storage.endpoint_url, storage._connections, storage._bucket)
    storage.endpoint_url = f"http://127.0.0.1:{closed_port()}"
    storage._connections, storage._bucket = threading.local(), None
    try:
        yield
    finally:
        storage.endpoint_url, storage._connections, storage._bucket = saved
