"""Template filters for the donor's pages: next steps, advice and consent scopes in plain words."""

from django import template
from django.utils.functional import Promise

from consent.scopes import scope_label
from donations.advice import Advice, QualityInWords, advice_for, next_step_for, quality_in_words

register = template.Library()


@register.filter
def next_step(status: str) -> str | Promise:
    return next_step_for(status)


@register.filter
def advice(code: str) -> Advice:
    return advice_for(code)


register.filter("scope_label", scope_label)


@register.filter
def quality(summary: object) -> QualityInWords | None:
    """The donation summary's quality report in plain words, or None."""
    return quality_in_words(summary)


@register.filter
def previewable(donation: object) -> bool:
    """Whether the donation's processed artifacts exist and the donor may replay them."""
    from donations.selectors import PREVIEWABLE_STATUSES

    return bool(getattr(donation, "artifact_prefix", "")) and (
        getattr(donation, "status", None) in PREVIEWABLE_STATUSES
    )
