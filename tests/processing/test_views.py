import json

import pytest
from django.urls import reverse

from processing.motion import CODES
from processing.motion.formats import supported_labels
from processing.motion.quality import QUALITY_CODES, QUALITY_VERSION

pytestmark = pytest.mark.django_db


def test_the_formats_page_lists_every_format_and_every_refusal_code(client):
    page = client.get(reverse("processing:formats"))
    assert page.status_code == 200
    html = page.content.decode()
    for label in supported_labels():
        assert label in html
    for code in CODES:
        assert f"<code>{code}</code>" in html


def test_the_formats_page_explains_the_quality_score_and_lists_its_codes(client):
    html = client.get(reverse("processing:formats")).content.decode()

    assert f"formula version {QUALITY_VERSION}" in html
    for code in QUALITY_CODES:
        assert f"<code>{code}</code>" in html
    assert "<code>motion.not_body_motion</code>" in html


def test_the_pose_stream_schema_is_published_as_json_schema(client):
    response = client.get(reverse("processing:pose_stream_schema"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/schema+json"
    schema = json.loads(b"".join(response.streaming_content))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "metagen-pose-stream" in json.dumps(schema["properties"]["format"])
