from django import forms
from django.utils.translation import gettext_lazy as _


class DonationUploadForm(forms.Form):
    motion_file = forms.FileField(
        label=_("Recording file"),
        help_text=_(
            "BVH, BeatLeader replay (.bsor), XROR, or a MetaGen pose stream (JSON or CSV). "
            "The file name is not kept."
        ),
    )
    audio_file = forms.FileField(
        label=_("Voice audio (optional)"),
        required=False,
        help_text=_("WAV, FLAC or Ogg, recorded with the motion. Needs consent to share audio."),
    )


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", _("Accept")), ("decline", _("Decline"))])
    reason = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )
