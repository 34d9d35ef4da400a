"""The README's run command on its embedded default: SQLite, local-disk storage, Celery's
filesystem transport. The suite itself runs on PostgreSQL, so this is the one place where a query
SQLite cannot run (a correlated reference in a subquery's ORDER BY, for one) is caught."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_embedded_default_migrates_and_seeds_the_demo_with_a_published_release(tmp_path):
    # Only what the README's `scripts/run` sets; the tests' services are left out on purpose.
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env |= {
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'metagen.sqlite3'}",
        "OBJECT_STORAGE_ROOT": str(tmp_path / "objects"),
        "CELERY_BROKER_URL": "filesystem://",
    }

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    migrated = manage("migrate", "--noinput", "-v0")
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    seeded = manage("demo_seed")
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    assert "donor@demo.metagen.invalid" in seeded.stdout

    published = manage(
        "shell",
        "-c",
        "from releases.models import Release; "
        "print(sorted(r.status for r in Release.objects.all()))",
    )
    assert published.returncode == 0, published.stderr[-3000:]
    assert "published" in published.stdout
    assert list((tmp_path / "objects" / "releases").rglob("manifest.json"))

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
