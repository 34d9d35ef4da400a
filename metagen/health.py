"""GET /health/: are the backing services reachable? 200 if all are, else 503 naming the down."""

import logging

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from kombu import Connection

logger = logging.getLogger(__name__)


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _broker() -> None:
    transport_options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    with Connection(settings.CELERY_BROKER_URL, transport_options=transport_options) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def _object_storage() -> None:
    if settings.STORAGE_BACKEND == "s3":
        client = default_storage.connection.meta.client  # type: ignore[attr-defined]
        client.head_bucket(Bucket=default_storage.bucket_name)  # type: ignore[attr-defined]
    else:
        default_storage.listdir("")


CHECKS = {"database": _database, "broker": _broker, "object_storage": _object_storage}


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:  # any failure means "down"; the type is enough to diagnose
            logger.warning("health: %s is down (%s)", name, type(exc).__name__)
            results[name] = "down"
        else:
            results[name] = "ok"
    down = [name for name, state in results.items() if state != "ok"]
    body = {"status": "ok" if not down else "down", "checks": results, "down": down}
    return JsonResponse(body, status=503 if down else 200)
