import uuid

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class PayoutRequestForm(forms.Form):
    credits = forms.IntegerField(
        label=_("Credits to pay out"),
        min_value=1,
        error_messages={"required": _("Say how many credits you want paid out.")},
    )
    request_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["request_key"].initial = uuid.uuid4().hex
        self.fields["credits"].help_text = _("At least %(minimum)d credits.") % {
            "minimum": settings.REWARDS_PAYOUT_MINIMUM
        }


class LeaderboardForm(forms.Form):
    opt_in = forms.BooleanField(
        label=_("Show my public pseudonym and the credits I earned on the leaderboard"),
        required=False,
    )
