import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_openapi_schema_and_docs_are_served(client):
    schema = client.get(reverse("schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/donations/{id}/" in paths
    assert "/api/datasets/{dataset_slug}/releases/{version}/" in paths
    docs = client.get(reverse("swagger-ui"))
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()
