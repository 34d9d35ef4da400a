"""CSV statements: a donor's ledger, and the approved payouts an admin sends for payment."""

import csv
import io
from collections.abc import Iterable

from rewards.models import LedgerEntry, PayoutRequest

STATEMENT_COLUMNS = (
    "date",
    "entry",
    "kind",
    "credits",
    "balance_after",
    "donation",
    "rule_version",
    "payout",
    "reason",
)
PAYOUT_COLUMNS = ("payout", "requested_at", "approved_at", "credits", "donor", "email")


def _csv(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _cell(value: object) -> object:
    """Neutralise a value a spreadsheet would run as a formula (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def statement_csv(entries: Iterable[LedgerEntry]) -> str:
    """The donor's entries oldest first, with the running balance after each."""
    balance = 0
    rows = []
    for entry in sorted(entries, key=lambda e: (e.created_at, e.pk)):
        balance += entry.credits
        rows.append(
            (
                entry.created_at.isoformat(),
                entry.pk,
                entry.kind,
                entry.credits,
                balance,
                entry.donation_id or "",
                entry.rule.version if entry.rule else "",
                entry.payout_id or "",
                _cell(entry.reason),
            )
        )
    return _csv(STATEMENT_COLUMNS, rows)


def approved_payouts_csv(payouts: Iterable[PayoutRequest]) -> str:
    return _csv(
        PAYOUT_COLUMNS,
        (
            (
                p.pk,
                p.created_at.isoformat(),
                p.decided_at.isoformat() if p.decided_at else "",
                p.credits,
                p.account.user.public_id,
                _cell(p.account.user.email),
            )
            for p in payouts
        ),
    )
