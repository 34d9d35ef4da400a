import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from consent.models import AppendOnlyError, ConsentEvent
from consent.services import consent_grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(donor, consent_document):
    return consent_grant(donor=donor, document=consent_document, scopes=["motion:open_release"])


def test_consent_events_cannot_be_updated_or_deleted_through_the_orm(event):
    event.scopes = ["audio:commercial"]
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        ConsentEvent.objects.filter(pk=event.pk).update(scopes=[])
    with pytest.raises(AppendOnlyError):
        ConsentEvent.objects.filter(pk=event.pk).delete()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE consent_consentevent SET scopes = '[]' WHERE id = %s",
        "DELETE FROM consent_consentevent WHERE id = %s",
    ],
)
def test_consent_events_cannot_be_updated_or_deleted_through_sql(event, sql):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [event.pk])
    assert ConsentEvent.objects.get(pk=event.pk).scopes == ["motion:open_release"]


def test_a_grant_is_refused_for_scopes_the_document_does_not_offer(donor, consent_document):
    from consent.services import ConsentError

    with pytest.raises(ConsentError, match="Unknown consent scope: motion:selling"):
        consent_grant(donor=donor, document=consent_document, scopes=["motion:selling"])
    assert not ConsentEvent.objects.exists()
