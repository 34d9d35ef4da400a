"""The permission matrix: which role may do what, written down once (DESIGN.md, People).

Roles follow from the account, not from a stored field:

- anonymous: no session or token;
- member: any signed-in, active account. Donors and researchers are the same kind of account;
  what is *theirs* (donations, consent events, ledger, payouts, API token) is scoped by the
  `*_for_user` selectors, so another member's object answers 404, never 403;
- curator: staff in the `curators` group (accounts.selectors.user_is_curator);
- admin: an active staff superuser (Django admin, reward rules, payouts).

A person can hold several roles (an admin in the curators group is both). A capability is
granted when any of the person's roles is listed for it. Views check capabilities through
`user_can` (see accounts.decorators); tests/metagen/test_permission_matrix.py walks every URL
against this table.
"""

from enum import StrEnum

from django.contrib.auth.models import AnonymousUser

from accounts.models import User
from accounts.selectors import user_is_curator


class Role(StrEnum):
    ANONYMOUS = "anonymous"
    MEMBER = "member"
    CURATOR = "curator"
    ADMIN = "admin"


class Capability(StrEnum):
    # Public pages: home, formats, catalogue, open releases and their files, withdrawal feeds.
    BROWSE_PUBLIC = "browse_public"
    # Consent, upload, follow and withdraw one's own donations; rewards, payouts, the account.
    DONATE = "donate"
    # Accept a dataset's data-use agreement and download its restricted releases.
    DOWNLOAD_RESTRICTED = "download_restricted"
    # The REST API (session or token).
    USE_API = "use_api"
    # The curation queue: every processed donation's replay, accept or decline.
    REVIEW_DONATIONS = "review_donations"
    # Draft, build and publish dataset releases.
    PUBLISH_RELEASES = "publish_releases"
    # Publish a new consent document version (in the Django admin).
    PUBLISH_CONSENT_DOCUMENT = "publish_consent_document"
    # The Django admin site itself (what each model allows is its ModelAdmin's business).
    USE_ADMIN_SITE = "use_admin_site"
    # Decide and pay payouts, and export approved ones with the donors' email addresses.
    PAY_DONORS = "pay_donors"


_SIGNED_IN = frozenset({Role.MEMBER, Role.CURATOR, Role.ADMIN})

MATRIX: dict[Capability, frozenset[Role]] = {
    Capability.BROWSE_PUBLIC: frozenset(Role),
    Capability.DONATE: _SIGNED_IN,
    Capability.DOWNLOAD_RESTRICTED: _SIGNED_IN,
    Capability.USE_API: _SIGNED_IN,
    Capability.REVIEW_DONATIONS: frozenset({Role.CURATOR}),
    Capability.PUBLISH_RELEASES: frozenset({Role.CURATOR}),
    Capability.PUBLISH_CONSENT_DOCUMENT: frozenset({Role.CURATOR, Role.ADMIN}),
    Capability.USE_ADMIN_SITE: frozenset({Role.CURATOR, Role.ADMIN}),
    Capability.PAY_DONORS: frozenset({Role.ADMIN}),
}


def user_roles(*, user: User | AnonymousUser) -> frozenset[Role]:
    """Every role the person holds; an inactive account is anonymous."""
    if not user.is_authenticated or not user.is_active:
        return frozenset({Role.ANONYMOUS})
    roles = {Role.MEMBER}
    if user_is_curator(user=user):  # type: ignore[arg-type]
        roles.add(Role.CURATOR)
    if user.is_staff and user.is_superuser:
        roles.add(Role.ADMIN)
    return frozenset(roles)


def user_can(*, user: User | AnonymousUser, capability: Capability) -> bool:
    """Whether any of the person's roles holds the capability in MATRIX."""
    return bool(user_roles(user=user) & MATRIX[capability])
