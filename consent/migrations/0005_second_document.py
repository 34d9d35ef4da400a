"""Publish version 2 of the consent form (consent/documents/v2.md), effective when migrated.

v2 says plainly how motion identifies a person, what anonymization cannot do, and what
withdrawal and rewards mean. Donors who granted under v1 see what changed and may grant again.
"""

import hashlib
from pathlib import Path

from django.db import migrations
from django.utils import timezone

MODALITIES = ("motion", "audio", "events", "demographics")
USES = ("open_release", "restricted_release", "model_training", "commercial")
SUMMARY = (
    "Says plainly that motion alone can identify you, including by linking to public replays; "
    "what anonymization does and cannot do; that withdrawal covers your whole account too and "
    "that downloaded copies cannot be recalled; and that a recording withdrawn before it is "
    "accepted earns no credits."
)


def publish(apps, schema_editor):
    ConsentDocument = apps.get_model("consent", "ConsentDocument")
    text = (Path(__file__).resolve().parent.parent / "documents" / "v2.md").read_text("utf-8")
    ConsentDocument.objects.get_or_create(
        version=2,
        defaults={
            "title": "Consent to donate VR recordings",
            "text": text,
            "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
            "effective_at": timezone.now(),
            "scopes_offered": [f"{m}:{u}" for m in MODALITIES for u in USES],
            "summary_of_changes": SUMMARY,
        },
    )


class Migration(migrations.Migration):
    dependencies = [("consent", "0004_document_changes")]
    operations = [migrations.RunPython(publish, migrations.RunPython.noop)]
