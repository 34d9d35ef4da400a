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
