import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_health_is_200_when_database_broker_and_storage_are_up(client):
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok", "object_storage": "ok"},
        "down": [],
    }


def test_health_is_503_naming_object_storage_when_it_is_unreachable(client, settings):
    storages = {**settings.STORAGES}
    storages["default"] = {
        **storages["default"],
        "OPTIONS": {**storages["default"]["OPTIONS"], "endpoint_url": "http://127.0.0.1:9"},
    }
    settings.STORAGES = storages
    response = client.get(reverse("health"))
    assert response.status_code == 503
    assert response.json()["down"] == ["object_storage"]


def test_health_is_503_naming_the_broker_when_it_is_unreachable(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
    response = client.get(reverse("health"))
    assert response.status_code == 503
    assert response.json()["down"] == ["broker"]
