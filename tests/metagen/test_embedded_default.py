"""The README's run command on its embedded default: SQLite, local-disk storage, Celery's
filesystem transport. The suite itself runs on PostgreSQL, so this is the one place where a query
SQLite cannot run (a correlated reference in a subquery's ORDER BY, or a function only PostgreSQL
has) is caught."""

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

Manage = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def manage(tmp_path_factory: pytest.TempPathFactory) -> Manage:
    """`manage.py` on a migrated and seeded embedded default (set up once for the module)."""
    tmp_path = tmp_path_factory.mktemp("embedded")
    # Only what the README's `scripts/run` sets; the tests' services are left out on purpose.
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env |= {
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'metagen.sqlite3'}",
        "OBJECT_STORAGE_ROOT": str(tmp_path / "objects"),
        # No worker consumes here: the tasks the seed queues must not land in the checkout's
        # var/broker, where the next `scripts/run` would find them for rows it never had.
        "CELERY_BROKER_URL": "memory://",
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    migrated = run("migrate", "--noinput", "-v0")
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    seeded = run("demo_seed")
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    assert "donor@demo.metagen.invalid" in seeded.stdout
    run.objects = tmp_path / "objects"  # type: ignore[attr-defined]
    return run


def test_the_embedded_default_migrates_and_seeds_the_demo_with_a_published_release(manage):
    published = manage(
        "shell",
        "-c",
        "from releases.models import Release; "
        "print(sorted(r.status for r in Release.objects.all()))",
    )
    assert published.returncode == 0, published.stderr[-3000:]
    assert "published" in published.stdout
    assert list((manage.objects / "releases").rglob("manifest.json"))

    # The pages each role opens first answer on SQLite too (their queries run there).
    pages = manage(
        "shell",
        "-c",
        "from django.test import Client\n"
        "from accounts.models import User\n"
        "for email, paths in [\n"
        "    ('donor@demo.metagen.invalid', ['/donations/', '/consent/', '/rewards/']),\n"
        "    ('curator@demo.metagen.invalid',\n"
        "     ['/curate/', '/curate/?scopes=motion:open_release']),\n"
        "    ('researcher@demo.metagen.invalid', ['/datasets/', '/datasets/vr-motion-open/']),\n"
        "]:\n"
        "    client = Client(SERVER_NAME='localhost')\n"
        "    client.force_login(User.objects.get(email=email))\n"
        "    for path in paths:\n"
        "        print(path, client.get(path).status_code)\n",
    )
    assert pages.returncode == 0, pages.stderr[-3000:]
    lines = [line for line in pages.stdout.splitlines() if line.startswith("/")]
    statuses = dict(line.rsplit(" ", 1) for line in lines)
    assert len(statuses) == 7
    assert set(statuses.values()) == {"200"}, statuses


# Walks the whole URL conf, keeps every path under /api/, fills its parameters from the demo's
# rows and GETs it as each role. Prints one JSON line: {"role path": status}.
API_WALK = """
import json, uuid
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.regex_helper import normalize
from accounts.models import User
from consent.models import ConsentDocument, ConsentEvent
from donations.models import Donation, UploadSession
from releases.models import Dataset, Release
from rewards.models import PayoutRequest

donor = User.objects.get(email='donor@demo.metagen.invalid')
release = Release.objects.filter(status='published').select_related('dataset').first()
session = UploadSession.objects.first()
payout = PayoutRequest.objects.first()
values = {
    'donation_id': Donation.objects.filter(donor=donor).first().pk,
    'session_id': session.pk if session else uuid.uuid4(),
    'part_number': 1,
    'slug': release.dataset.slug,
    'dataset_slug': release.dataset.slug,
    'format': 'json',
}
by_name = {
    ('donation', 'pk'): values['donation_id'],
    ('consent-event', 'pk'): ConsentEvent.objects.filter(donor=donor).first().pk,
    ('reward-payout', 'pk'): payout.pk if payout else uuid.uuid4(),
    ('consent-document', 'version'): ConsentDocument.objects.order_by('-version').first().version,
    ('release', 'version'): release.version,
}

def walk(patterns, prefix):
    for entry in patterns:
        regex = prefix + entry.pattern.regex.pattern.lstrip('^')
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, regex.rstrip('$'))
        else:
            yield entry.name or '', regex

paths = set()
for name, regex in walk(get_resolver().url_patterns, ''):
    for template, params in normalize(regex):
        if not template.startswith('api/'):
            continue
        fill = {}
        for param in params:
            key = next((k for k in by_name if k[1] == param and name.startswith(k[0] + '-')), None)
            if key is None and param not in values:
                raise SystemExit(f'No demo value for {param!r} in {name!r}: add one to API_WALK')
            fill[param] = by_name[key] if key else values[param]
        paths.add('/' + template % {k: str(v) for k, v in fill.items()})

statuses = {}
for role in ('anonymous', 'donor', 'curator', 'researcher'):
    client = Client(SERVER_NAME='localhost', raise_request_exception=False)
    if role != 'anonymous':
        client.force_login(User.objects.get(email=f'{role}@demo.metagen.invalid'))
    for path in sorted(paths):
        statuses[f'{role} {path}'] = client.get(path).status_code
print(json.dumps(statuses))
"""


def test_every_api_endpoint_answers_each_role_without_a_server_error_on_sqlite(manage):
    walked = manage("shell", "-c", API_WALK)
    assert walked.returncode == 0, walked.stderr[-3000:]
    statuses = json.loads(walked.stdout.strip().splitlines()[-1])

    failing = sorted(f"{request} {code}" for request, code in statuses.items() if code >= 500)
    assert not failing, "\n".join(failing)
    # The walk reached the endpoints it is there for, with parameters that resolve.
    for role in ("anonymous", "donor", "curator", "researcher"):
        assert statuses[f"{role} /api/datasets/"] == 200
        assert statuses[f"{role} /api/datasets/vr-motion-open/"] == 200
        assert statuses[f"{role} /api/datasets/vr-motion-open/withdrawals/"] == 200
    assert statuses["donor /api/donations/"] == 200
    assert len({request.split(" ", 1)[1] for request in statuses}) > 30
