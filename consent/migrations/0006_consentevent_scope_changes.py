"""Keep on each consent event what it changed: the scopes added and withdrawn.

Adding nullable columns rewrites no row, so the append-only trigger (0002) is not involved;
events recorded before this stay null (the change was not kept then).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0005_second_document"),
    ]

    operations = [
        migrations.AddField(
            model_name="consentevent",
            name="scopes_added",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="consentevent",
            name="scopes_withdrawn",
            field=models.JSONField(blank=True, null=True),
        ),
    ]
