"""Published releases for the access tests: rows and their files really stored in the (moto)
bucket, made directly so these tests do not depend on the build's output."""

import hashlib
import itertools

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.services import user_create_verified
from consent.services import consent_grant
from donations.models import Donation, DonationStatus
from releases.models import Dataset, Release, ReleaseFile, ReleaseItem
from releases.pseudonyms import pseudonym

_emails = itertools.count(1)

HEAD_AND_HANDS = [
    {"name": "head", "role": "head"},
    {"name": "left_hand", "role": "left_hand"},
    {"name": "right_hand", "role": "right_hand"},
]


def restricted_dataset(**fields) -> Dataset:  # type: ignore[no-untyped-def]
    return Dataset.objects.create(
        slug=fields.pop("slug", "vr-motion-restricted"),
        title="MetaGen VR Motion (restricted)",
        access_tier=Dataset.AccessTier.RESTRICTED,
        required_scopes=["motion:restricted_release"],
        dua_text=fields.pop("dua_text", "Do not try to re-identify anyone.\n"),
        **fields,
    )


def accepted_donation(document, *, donor=None, **summary) -> Donation:  # type: ignore[no-untyped-def]
    donor = donor or user_create_verified(
        email=f"donor{next(_emails)}@example.org", password="donate-it-2026"
    )
    consent_grant(donor=donor, document=document, scopes=["motion:open_release"])
    return Donation.objects.create(
        donor=donor,
        status=DonationStatus.ACCEPTED,
        summary={
            "source_format": "bsor",
            "frame_rate": 90.0,
            "duration_s": 60.0,
            "frame_count": 5400,
            "tracks": HEAD_AND_HANDS,
            **summary,
        },
    )


def published_release(  # type: ignore[no-untyped-def]
    *,
    dataset: Dataset,
    curator,
    donations: list[Donation],
    files: dict[str, bytes],
    version: str = "1.0.0",
    status: str = Release.Status.PUBLISHED,
) -> Release:
    release = Release.objects.create(
        dataset=dataset,
        version=version,
        status=status,
        created_by=curator,
        built_at=timezone.now(),
        published_at=timezone.now(),
        manifest_sha256=hashlib.sha256(files.get("manifest.json", b"")).hexdigest(),
    )
    for donation in donations:
        ReleaseItem.objects.create(
            release=release,
            donation=donation,
            consent_event=donation.donor.consent_events.latest("created_at"),
            recording_pseudonym=pseudonym(
                secret=dataset.pseudonym_secret, kind="recording", value=donation.pk
            ),
            contributor_pseudonym=pseudonym(
                secret=dataset.pseudonym_secret, kind="contributor", value=donation.donor_id
            ),
        )
    for path, data in files.items():
        default_storage.save(f"{release.storage_prefix}{path}", ContentFile(data))
        ReleaseFile.objects.create(
            release=release, path=path, size=len(data), sha256=hashlib.sha256(data).hexdigest()
        )
    return release


def payload(size: int, seed: int = 0) -> bytes:
    """Deterministic, non-repeating bytes (so a wrong offset shows)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def token_client(user) -> Client:  # type: ignore[no-untyped-def]
    """A test client that signs its requests with the user's API token."""
    token, _created = Token.objects.get_or_create(user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}")
