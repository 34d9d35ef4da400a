"""Append-only tables below the ORM: a PostgreSQL trigger that refuses UPDATE and DELETE.

Used by the migrations of tables that are evidence or books (consent events, ledger entries), so
that no client, not even raw SQL, can change or remove a row. Other databases (the embedded
SQLite default) rely on the models' own guards. TRUNCATE is not refused: the transactional tests
flush tables with it, and a table owner can drop a trigger anyway.
"""

from django.db import migrations


def append_only_trigger(*, table: str, name: str, what: str) -> migrations.RunPython:
    """A migration operation installing (and, reversed, removing) the trigger on `table`.

    `name` prefixes the trigger and its function; `what` names the rows in the error message.
    """
    function, trigger = f"{name}_forbid_change", f"{name}_append_only"
    forbid_sql = f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{what} are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER {trigger}
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {function}();
"""
    allow_sql = f"""
DROP TRIGGER IF EXISTS {trigger} ON {table};
DROP FUNCTION IF EXISTS {function}();
"""

    def forbid(apps, schema_editor):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(forbid_sql, params=None)

    def allow(apps, schema_editor):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(allow_sql, params=None)

    return migrations.RunPython(forbid, allow)
