"""Consent events are evidence: PostgreSQL refuses UPDATE and DELETE on them, whatever the client."""

from django.db import migrations

FORBID = """
CREATE OR REPLACE FUNCTION consent_event_forbid_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'consent events are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER consent_event_append_only
    BEFORE UPDATE OR DELETE ON consent_consentevent
    FOR EACH ROW EXECUTE FUNCTION consent_event_forbid_change();
"""
ALLOW = """
DROP TRIGGER IF EXISTS consent_event_append_only ON consent_consentevent;
DROP FUNCTION IF EXISTS consent_event_forbid_change();
"""


def forbid(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORBID, params=None)


def allow(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ALLOW, params=None)


class Migration(migrations.Migration):
    dependencies = [("consent", "0001_initial")]
    operations = [migrations.RunPython(forbid, allow)]
