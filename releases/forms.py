from django import forms
from django.utils.translation import gettext_lazy as _

from releases.models import SEMVER


class ReleaseCreateForm(forms.Form):
    dataset = forms.SlugField(label=_("Dataset"))
    version = forms.CharField(label=_("Version"), max_length=32, validators=[SEMVER])
