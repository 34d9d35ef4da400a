"""demo_seed creates staff accounts with a published password: never in production shape."""

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from metagen.management.commands.demo_seed import ACCOUNTS, DEMO_PASSWORD

pytestmark = pytest.mark.django_db


def test_demo_seed_refuses_to_run_outside_debug_and_creates_no_account(settings):
    settings.DEBUG = False
    out = io.StringIO()

    with pytest.raises(CommandError, match="--force"):
        call_command("demo_seed", stdout=out)

    assert not User.objects.filter(email__in=ACCOUNTS.values()).exists()
    assert DEMO_PASSWORD not in out.getvalue()


def test_demo_seed_runs_outside_debug_only_when_forced(settings):
    settings.DEBUG = False
    out = io.StringIO()

    call_command("demo_seed", "--force", stdout=out)

    assert set(User.objects.values_list("email", flat=True)) >= set(ACCOUNTS.values())
    assert ACCOUNTS["donor"] in out.getvalue()
    from rewards.models import RewardRule

    assert RewardRule.objects.get().daily_cap == 600  # the seeded rule has the default cap
