"""Seed one drill's people on the drill database and print them as JSON (run by the harness
with the drill environment): a verified donor who granted consent, with an API token; a
curator and an admin, each with a signed-in session; the reward rule in force.

    python tests/drills/seed.py LABEL [SCOPE ...]
"""

import json
import sys

import django


def _session_for(user) -> str:  # type: ignore[no-untyped-def]
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return str(session.session_key)


def main(label: str, scopes: list[str]) -> dict[str, object]:
    from accounts.services import user_create_verified, user_token_rotate
    from consent.selectors import consent_document_get_current
    from consent.services import consent_grant
    from releases.models import Dataset
    from rewards.models import RewardRule
    from rewards.services import reward_rule_create

    password = "drill-passphrase-2026-long"
    donor = user_create_verified(email=f"donor-{label}@drill.invalid", password=password)
    consent_grant(donor=donor, document=consent_document_get_current(), scopes=scopes)
    curator = user_create_verified(
        email=f"curator-{label}@drill.invalid", password=password, curator=True
    )
    admin = user_create_verified(email=f"admin-{label}@drill.invalid", password=password)
    admin.is_staff = admin.is_superuser = True
    admin.save(update_fields=["is_staff", "is_superuser"])
    if not RewardRule.objects.exists():
        reward_rule_create(credits_per_minute=10)
    # A dataset only this drill's donor can enter (the others never grant commercial use).
    Dataset.objects.create(
        slug=f"drill-{label}",
        title=f"Drill {label}",
        required_scopes=["motion:commercial"],
        modalities=["motion"],
    )
    return {
        "donor_id": donor.pk,
        "token": user_token_rotate(user=donor),
        "curator_session": _session_for(curator),
        "admin_session": _session_for(admin),
    }


if __name__ == "__main__":
    django.setup()
    print(json.dumps(main(sys.argv[1], sys.argv[2:] or ["motion:open_release"])))
