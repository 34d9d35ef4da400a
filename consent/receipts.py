"""Consent receipts: the machine-readable record a donor can keep of each grant or withdrawal.

Field names follow the Kantara Initiative Consent Receipt Specification v1.1 (which ISO/IEC TS
27560 builds on); `documentVersion`, `documentSha256`, `action`, `scopes`, `scopesAdded`,
`scopesWithdrawn` (the change from the grant in force before; null on events recorded before the
change was kept), `credit` and `donation` are ours.
Building a receipt is a pure function of the event and the controller settings: nothing is
stored, so a receipt can be rebuilt byte for byte at any time.
"""

from typing import Any

from django.conf import settings
from django.urls import reverse

from consent.models import ConsentEvent
from consent.scopes import Modality, Use

RECEIPT_VERSION = "KI-CR-v1.1.0"

# Kantara's purpose categories fit a shop better than a research archive, so these are ours,
# written the way the consent form says them.
PURPOSE_CATEGORY: dict[str, str] = {
    Use.OPEN_RELEASE: "Research: open public release",
    Use.RESTRICTED_RELEASE: "Research: release under a data-use agreement",
    Use.MODEL_TRAINING: "Research: training generative models",
    Use.COMMERCIAL: "Commercial use",
}
THIRD_PARTY: dict[str, str] = {
    Use.OPEN_RELEASE: "Anyone who downloads the open release",
    Use.RESTRICTED_RELEASE: "Researchers who accept the dataset's data-use agreement",
    Use.MODEL_TRAINING: "",
    Use.COMMERCIAL: "Companies using the released data in products",
}
TERMINATION = (
    "Until withdrawn. Withdraw at any time, per recording or for the whole account, at {url}. "
    "Withdrawal stops processing, deletes the raw and processed files and leaves the recording "
    "out of every release built afterwards; copies already downloaded from published releases "
    "cannot be recalled."
)


def controller() -> dict[str, str]:
    """The data controller as the receipt names it, from CONSENT_CONTROLLER_* settings."""
    return {
        "piiController": getattr(settings, "CONSENT_CONTROLLER_NAME", "The MetaGen project"),
        "contact": getattr(settings, "CONSENT_CONTROLLER_CONTACT", "Privacy team"),
        "address": getattr(settings, "CONSENT_CONTROLLER_ADDRESS", ""),
        "email": getattr(settings, "CONSENT_CONTROLLER_EMAIL", "privacy@metagen.invalid"),
        "phone": getattr(settings, "CONSENT_CONTROLLER_PHONE", ""),
        "piiControllerUrl": getattr(settings, "CONSENT_CONTROLLER_URL", settings.SITE_URL),
    }


def _purposes(scopes: list[str], *, withdraw_url: str) -> list[dict[str, Any]]:
    by_use: dict[str, list[str]] = {}
    for granted in scopes:
        modality, use = granted.split(":", 1)
        by_use.setdefault(use, []).append(str(Modality(modality).label))
    purposes = []
    for use in Use:  # the form's order, so two receipts of the same grant read alike
        if use.value not in by_use:
            continue
        third_party = THIRD_PARTY[use.value]
        purposes.append(
            {
                "purpose": str(use.label),
                "purposeCategory": [PURPOSE_CATEGORY[use.value]],
                "consentType": "EXPLICIT",
                "piiCategory": by_use[use.value],
                "primaryPurpose": use.value == Use.MODEL_TRAINING,
                "termination": TERMINATION.format(url=withdraw_url),
                "thirdPartyDisclosure": bool(third_party),
                "thirdPartyName": third_party,
            }
        )
    return purposes


def receipt_build(*, event: ConsentEvent, site_url: str | None = None) -> dict[str, Any]:
    """The receipt of one consent event as a JSON-ready dict.

    `event.document` and `event.donor` must be loaded (or loadable). The donor appears only by
    their opaque public id, never their email address.
    """
    base = (site_url or settings.SITE_URL).rstrip("/")
    document = event.document
    withdraw_url = base + reverse("consent:history")
    modalities = sorted({s.split(":", 1)[0] for s in event.scopes})
    return {
        "version": RECEIPT_VERSION,
        "jurisdiction": getattr(settings, "CONSENT_JURISDICTION", "EU (GDPR)"),
        "consentTimestamp": int(event.created_at.timestamp()),
        "collectionMethod": str(event.get_method_display()),
        "consentReceiptID": str(event.id),
        "publicKey": "",
        "language": settings.LANGUAGE_CODE,
        "piiPrincipalId": str(event.donor.public_id),
        "piiControllers": [controller()],
        "policyUrl": base + reverse("consent:document", args=[document.version]),
        "services": [
            {
                "service": "MetaGen VR motion data donation",
                "purposes": _purposes(event.scopes, withdraw_url=withdraw_url),
            }
        ],
        # Motion alone can identify a person, so we treat every motion grant as sensitive.
        "sensitive": Modality.MOTION.value in modalities,
        "spiCat": ["Biometric: movement can identify a person"]
        if Modality.MOTION.value in modalities
        else [],
        "documentVersion": document.version,
        "documentSha256": event.document_sha256,
        "action": event.action,
        "scopes": list(event.scopes),
        "scopesAdded": event.scopes_added,
        "scopesWithdrawn": event.scopes_withdrawn,
        "credit": event.credit,
        "donation": str(event.donation_id) if event.donation_id else None,
    }
