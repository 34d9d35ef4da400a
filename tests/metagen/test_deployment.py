"""Production settings and the docker-compose production shape."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _check_deploy(**overrides: str | None) -> subprocess.CompletedProcess[str]:
    """`manage.py check --deploy` on production-like settings; an override of None unsets."""
    # The browser tests' async-safety override is test-process state, not production's.
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {
        **inherited,
        "DJANGO_DEBUG": "false",
        "DJANGO_HTTPS": "true",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
        "DJANGO_ALLOWED_HOSTS": "metagen.example.org",
        "SITE_URL": "https://metagen.example.org",
        "STATICFILES_BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage",
    }
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_settings_pass_check_deploy_with_no_warnings():
    result = _check_deploy()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize("site_url", [None, ""])
def test_check_deploy_fails_production_without_an_explicit_site_url(site_url):
    result = _check_deploy(SITE_URL=site_url)
    assert result.returncode == 1
    assert (
        "?: (metagen.E001) SITE_URL is not set; releases and consent receipts would carry "
        "http://localhost:8000 for good." in result.stderr
    )
    assert "HINT: Set SITE_URL to the public address" in result.stderr


def _names_settings_read() -> set[str]:
    source = (ROOT / "metagen" / "settings.py").read_text()
    return set(re.findall(r"env\.\w+\(\s*\"([A-Z][A-Z0-9_]*)\"", source))


def test_settings_read_the_environment_names_this_test_knows():
    # Guards the regex above: if settings stop using env.<cast>("NAME"), this test must change.
    assert {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SECRET_KEY", "EMAIL_URL"} <= (
        _names_settings_read()
    )


def test_compose_has_every_service_and_sets_every_name_the_settings_read():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "minio", "web", "worker", "beat"} <= set(services)
    # MinIO's bucket is created by a one-shot service the app roles wait for.
    assert "mc mb" in services["minio-buckets"]["entrypoint"]
    for role in ("web", "worker", "beat"):
        environment = services[role]["environment"]
        missing = _names_settings_read() - set(environment)
        assert not missing, f"{role} does not set {sorted(missing)}"
        assert services[role]["build"]["dockerfile"] == "platform/Dockerfile"
    assert services["web"]["command"] == ["web"]
    assert services["worker"]["command"] == ["worker"]
    assert services["beat"]["command"] == ["beat"]
    for path in ("platform/Dockerfile", "platform/entrypoint.sh", "platform/gunicorn.conf.py"):
        assert (ROOT / path).is_file()
