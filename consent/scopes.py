"""The consent scopes of DESIGN.md: modalities x uses, plus how a donor is credited.

A scope is written "<modality>:<use>", for example "motion:open_release". A dataset requires a
set of scopes; a donation's effective consent covers the dataset when it holds all of them.
"""

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class Modality(models.TextChoices):
    MOTION = "motion", _("Motion (head, hands, body)")
    AUDIO = "audio", _("Voice audio")
    EVENTS = "events", _("In-app events")
    DEMOGRAPHICS = "demographics", _("Demographics you tell us")


class Use(models.TextChoices):
    OPEN_RELEASE = "open_release", _("Open release to anyone")
    RESTRICTED_RELEASE = (
        "restricted_release",
        _("Release to researchers under a data-use agreement"),
    )
    MODEL_TRAINING = "model_training", _("Training generative models")
    COMMERCIAL = "commercial", _("Commercial use")


class Credit(models.TextChoices):
    ANONYMOUS = "anonymous", _("Anonymous")
    PSEUDONYM = "pseudonym", _("Credited under a public pseudonym")


def scope(modality: str, use: str) -> str:
    return f"{modality}:{use}"


ALL_SCOPES: tuple[str, ...] = tuple(scope(m, u) for m in Modality.values for u in Use.values)


def normalize_scopes(scopes: list[str] | tuple[str, ...] | set[str]) -> list[str]:
    """Sorted, de-duplicated scopes; raises ValueError naming the first unknown one."""
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown:
        raise ValueError(f"Unknown consent scope: {unknown[0]}")
    return sorted(set(scopes))


_FORM_ORDER = {name: index for index, name in enumerate(ALL_SCOPES)}


def in_form_order(scopes: list[str] | tuple[str, ...] | set[str]) -> list[str]:
    """Scopes as the form's matrix lists them: by modality row, then by use column."""
    return sorted(scopes, key=lambda name: (_FORM_ORDER.get(name, len(_FORM_ORDER)), name))


@dataclass(frozen=True)
class ScopeChange:
    """What a new grant or a withdrawal changes in the scopes in force (each list sorted)."""

    added: list[str]
    withdrawn: list[str]
    kept: list[str]


def scope_change(*, before: list[str], after: list[str]) -> ScopeChange:
    old, new = set(before), set(after)
    return ScopeChange(added=sorted(new - old), withdrawn=sorted(old - new), kept=sorted(new & old))


def scope_label(value: str) -> str:
    """`motion:open_release` -> `Motion (head, hands, body): Open release to anyone`."""
    modality, _sep, use = value.partition(":")
    if modality in Modality.values and use in Use.values:
        return f"{Modality(modality).label}: {Use(use).label}"
    return value


def covers(granted: list[str], required: list[str]) -> bool:
    return set(required) <= set(granted)
