"""System checks of the deployment (`manage.py check --deploy`)."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register


def site_url_missing() -> bool:
    """Whether production runs on the default SITE_URL. Releases are immutable and carry the
    address for good, so production must name it; development may use the default."""
    return not settings.DEBUG and not settings.SITE_URL_EXPLICIT


@register("metagen", deploy=True)
def site_url_check(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if not site_url_missing():
        return []
    return [
        Error(
            "SITE_URL is not set; releases and consent receipts would carry "
            f"{settings.SITE_URL} for good.",
            hint="Set SITE_URL to the public address of the site, e.g. https://metagen.example.org.",
            id="metagen.E001",
        )
    ]
