import factory
from django.utils import timezone

from consent.models import ConsentDocument
from consent.scopes import ALL_SCOPES
from releases.models import Dataset


class ConsentDocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentDocument
        django_get_or_create = ("version",)

    version = 1
    title = "Consent to donate VR recordings"
    text = "## Consent\n\nMotion can identify you. You can withdraw at any time."
    sha256 = factory.LazyAttribute(lambda o: ConsentDocument.hash_text(o.text))
    effective_at = factory.LazyFunction(lambda: timezone.now() - timezone.timedelta(days=1))
    scopes_offered = factory.LazyFunction(lambda: list(ALL_SCOPES))


class DatasetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dataset
        django_get_or_create = ("slug",)

    slug = "vr-motion-open"
    title = "MetaGen VR Motion (open)"
    licence = "CC-BY-4.0"
    access_tier = Dataset.AccessTier.OPEN
    required_scopes = factory.LazyFunction(lambda: ["motion:model_training", "motion:open_release"])


def valid_bvh_over(size: int) -> bytes:
    """A synthetic BVH that passes validation and is larger than `size` bytes (for multi-part
    uploads: S3 parts are at least 5 MiB)."""
    from processing.motion.synthetic import synthetic_bvh

    seconds = 60
    while True:
        content = synthetic_bvh(seconds=seconds, fps=90, seed=11).encode()
        if len(content) > size:
            return content
        seconds *= 2


def donation_with_stored_file(*, donor, status: str, content: bytes, **fields):  # type: ignore[no-untyped-def]
    """A donation in `status` with `content` stored as its motion file, and no message queued
    for it (tests that want a task run, or a sweeper to find it, queue nothing themselves)."""
    import hashlib
    import uuid

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from donations.models import Donation, DonationFile

    donation = Donation.objects.create(donor=donor, status=status, **fields)
    key = f"raw/{donation.pk}/{uuid.uuid4()}"
    default_storage.save(key, ContentFile(content))
    DonationFile.objects.create(
        donation=donation,
        kind=DonationFile.Kind.MOTION,
        storage_key=key,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )
    return donation
