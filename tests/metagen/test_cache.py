"""The cache is optional: with Redis unreachable, pages answer and nothing raises."""

import pytest
from django.core.cache import cache
from django.test import override_settings

# A real refused connection: nothing listens on port 1.
UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "metagen.cache.TolerantRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


def test_the_settings_use_the_tolerant_backend_for_redis(settings):
    assert settings.CACHES["default"]["BACKEND"] == "metagen.cache.TolerantRedisCache"


@override_settings(CACHES=UNREACHABLE_REDIS)
def test_an_unreachable_cache_reads_as_a_miss_and_drops_writes():
    assert cache.get("anything", "fallback") == "fallback"
    assert cache.get_many(["a", "b"]) == {}
    assert cache.add("a", 1) is False
    cache.set("a", 1)
    cache.delete("a")
    assert cache.has_key("a") is False


@pytest.mark.django_db
@override_settings(CACHES=UNREACHABLE_REDIS)
def test_signed_in_pages_answer_while_the_cache_is_down(client, donor, consent_document):
    # The consent banner's version is cached per donor: a down Redis used to make this a 500.
    client.force_login(donor)
    assert client.get("/donations/").status_code == 200
    assert client.get("/consent/").status_code == 200
