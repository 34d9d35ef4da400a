"""Publish version 1 of the consent form (consent/documents/v1.md), offering every scope."""

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from django.db import migrations

MODALITIES = ("motion", "audio", "events", "demographics")
USES = ("open_release", "restricted_release", "model_training", "commercial")


def publish(apps, schema_editor):
    ConsentDocument = apps.get_model("consent", "ConsentDocument")
    text = (Path(__file__).resolve().parent.parent / "documents" / "v1.md").read_text("utf-8")
    ConsentDocument.objects.get_or_create(
        version=1,
        defaults={
            "title": "Consent to donate VR recordings",
            "text": text,
            "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
            "effective_at": datetime(2026, 11, 1, tzinfo=UTC),
            "scopes_offered": [f"{m}:{u}" for m in MODALITIES for u in USES],
        },
    )


class Migration(migrations.Migration):
    dependencies = [("consent", "0002_append_only_trigger")]
    operations = [migrations.RunPython(publish, migrations.RunPython.noop)]
