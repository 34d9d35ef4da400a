from django import forms
from django.utils.translation import gettext_lazy as _


class DonationUploadForm(forms.Form):
    motion_file = forms.FileField(
        label=_("Recording file"),
        help_text=_("A BVH motion file. The file name is not kept."),
    )


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", _("Accept")), ("decline", _("Decline"))])
    reason = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )
