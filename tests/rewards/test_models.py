"""The ledger is append-only through the ORM and below it (a PostgreSQL trigger), and the
database itself refuses a second entry with one idempotency key or a malformed entry."""

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from rewards.models import AppendOnlyError, LedgerEntry, RewardAccount
from rewards.services import ledger_adjust

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(donor, curator):  # type: ignore[no-untyped-def]
    return ledger_adjust(
        user=donor, credits=40, reason="Welcome bonus", actor=curator, idempotency_key="welcome"
    )


def test_saving_a_changed_entry_through_the_orm_fails(entry):
    entry.credits = 4000
    with pytest.raises(AppendOnlyError):
        entry.save()
    assert LedgerEntry.objects.values_list("credits", flat=True).get(pk=entry.pk) == 40


def test_updating_or_deleting_entries_through_a_queryset_fails(entry):
    with pytest.raises(AppendOnlyError):
        LedgerEntry.objects.filter(pk=entry.pk).update(credits=4000)
    with pytest.raises(AppendOnlyError):
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    assert LedgerEntry.objects.filter(pk=entry.pk, credits=40).exists()


def test_updating_an_entry_in_sql_is_refused_by_postgresql(entry):
    refused = r"ledger entries are append-only \(UPDATE refused\)"
    with (
        pytest.raises(DatabaseError, match=refused),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE rewards_ledgerentry SET credits = 4000 WHERE id = %s", [entry.pk])
    assert LedgerEntry.objects.values_list("credits", flat=True).get(pk=entry.pk) == 40


def test_deleting_an_entry_in_sql_is_refused_by_postgresql(entry):
    refused = r"ledger entries are append-only \(DELETE refused\)"
    with (
        pytest.raises(DatabaseError, match=refused),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM rewards_ledgerentry WHERE id = %s", [entry.pk])
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()


def test_the_database_refuses_a_second_entry_with_the_same_idempotency_key(entry):
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            account=entry.account,
            kind=LedgerEntry.Kind.ADJUSTMENT,
            credits=40,
            idempotency_key="welcome",
            reason="Welcome bonus",
        )


def test_the_database_refuses_an_award_without_its_donation_and_rule(donor):
    account = RewardAccount.objects.create(user=donor)
    with pytest.raises(IntegrityError, match="award_has_donation_and_rule"), transaction.atomic():
        LedgerEntry.objects.create(
            account=account,
            kind=LedgerEntry.Kind.AWARD,
            credits=10,
            idempotency_key="award:nothing",
            reason="Accepted recording",
        )
