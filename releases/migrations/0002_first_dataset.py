"""The first dataset, so a curator can publish a release on day one."""

import secrets

from django.db import migrations


def create(apps, schema_editor):
    Dataset = apps.get_model("releases", "Dataset")
    Dataset.objects.get_or_create(
        slug="vr-motion-open",
        defaults={
            "title": "MetaGen VR Motion (open)",
            "description": (
                "Head, hand and body motion recorded in VR by volunteers, anonymized and "
                "converted to one open Parquet schema. Open to anyone under CC BY 4.0."
            ),
            "licence": "CC-BY-4.0",
            "access_tier": "open",
            "required_scopes": ["motion:model_training", "motion:open_release"],
            "body_size": "keep",
            "pseudonym_secret": secrets.token_hex(32),
        },
    )


class Migration(migrations.Migration):
    dependencies = [("releases", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
