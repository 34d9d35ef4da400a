"""A donor's opaque public id (named in consent receipts) and optional public pseudonym.

The unique UUID is added in three steps so existing rows each get their own value.
"""

import uuid

from django.db import migrations, models


def fill_public_ids(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    for user in User.objects.filter(public_id__isnull=True).only("pk"):
        User.objects.filter(pk=user.pk).update(public_id=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_curators_group")]

    operations = [
        migrations.AddField(
            model_name="user",
            name="public_id",
            field=models.UUIDField(null=True, editable=False),
        ),
        migrations.RunPython(fill_public_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="user",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AddField(
            model_name="user",
            name="pseudonym",
            field=models.CharField(
                blank=True, max_length=40, null=True, unique=True, verbose_name="public pseudonym"
            ),
        ),
    ]
