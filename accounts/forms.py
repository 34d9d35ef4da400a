from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User


class AccountDeleteForm(forms.Form):
    """Asks for the password, so that a left-open session cannot delete the account."""

    password = forms.CharField(
        label=_("Your password"), widget=forms.PasswordInput(attrs={"autocomplete": "off"})
    )

    def __init__(self, *args: object, user: User, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.user = user

    def clean_password(self) -> str:
        password = str(self.cleaned_data.get("password") or "")
        if not self.user.check_password(password):
            raise forms.ValidationError(_("That is not your password."))
        return password
