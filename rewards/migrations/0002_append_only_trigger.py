"""Ledger entries are the books: PostgreSQL refuses UPDATE and DELETE on them, whatever the client."""

from django.db import migrations

FORBID = """
CREATE OR REPLACE FUNCTION rewards_ledger_forbid_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER rewards_ledger_append_only
    BEFORE UPDATE OR DELETE ON rewards_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION rewards_ledger_forbid_change();
"""
ALLOW = """
DROP TRIGGER IF EXISTS rewards_ledger_append_only ON rewards_ledgerentry;
DROP FUNCTION IF EXISTS rewards_ledger_forbid_change();
"""


def forbid(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORBID, params=None)


def allow(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ALLOW, params=None)


class Migration(migrations.Migration):
    dependencies = [("rewards", "0001_initial")]
    operations = [migrations.RunPython(forbid, allow)]
