"""Ledger entries are the books: PostgreSQL refuses UPDATE and DELETE on them, whatever the client."""

from django.db import migrations

from metagen.append_only import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [("rewards", "0001_initial")]
    operations = [
        append_only_trigger(
            table="rewards_ledgerentry", name="rewards_ledger", what="ledger entries"
        )
    ]
