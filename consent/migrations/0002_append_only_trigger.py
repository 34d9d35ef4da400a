"""Consent events are evidence: PostgreSQL refuses UPDATE and DELETE on them, whatever the client."""

from django.db import migrations

from metagen.append_only import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [("consent", "0001_initial")]
    operations = [
        append_only_trigger(
            table="consent_consentevent", name="consent_event", what="consent events"
        )
    ]
