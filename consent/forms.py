from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.services import pseudonym_problem
from consent.scopes import Credit, Modality, Use, scope, scope_label

MODALITY_HELP = {
    Modality.MOTION: _("How your head, hands or body moved. Motion alone can identify you."),
    Modality.AUDIO: _("Your voice, if you upload audio with a recording."),
    Modality.EVENTS: _("What happened in the app, for example game actions and their timing."),
    Modality.DEMOGRAPHICS: _("Facts you tell us, such as an age range. Never your name."),
}
USE_HELP = {
    Use.OPEN_RELEASE: _("Anyone can download it."),
    Use.RESTRICTED_RELEASE: _("Only researchers who sign a data-use agreement."),
    Use.MODEL_TRAINING: _("Used to teach AI models to generate motion."),
    Use.COMMERCIAL: _("Companies may use it in products."),
}


class ConsentForm(forms.Form):
    """The scope matrix: one checkbox per (modality, use) the document offers, and credit."""

    APPLIES_ALL = "all"
    APPLIES_DONATION = "donation"

    credit = forms.ChoiceField(
        choices=Credit.choices,
        initial=Credit.ANONYMOUS,
        widget=forms.RadioSelect,
        label=_("Credit"),
    )
    pseudonym = forms.CharField(
        required=False,
        max_length=40,
        label=_("Public pseudonym"),
        help_text=_("Shown with your data if you choose to be credited. Not your email or name."),
    )
    understood = forms.BooleanField(
        label=_(
            "I have read the consent form and understand that downloaded copies cannot be recalled."
        ),
    )

    def __init__(
        self,
        *args: object,
        offered: list[str],
        user: User | None = None,
        for_donation: bool = False,
        granted: list[str] | None = None,
        granted_credit: str | None = None,
        **kwargs: object,
    ) -> None:
        """`granted` and `granted_credit`: the grant in force, which the form starts from."""
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.offered = offered
        self.user = user
        if user is not None and user.pseudonym:
            self.fields["pseudonym"].initial = user.pseudonym
        if granted_credit:
            self.fields["credit"].initial = granted_credit
        for modality in Modality:
            for use in Use:
                name = scope(modality.value, use.value)
                if name in offered:
                    self.fields[name] = forms.BooleanField(
                        required=False, label=scope_label(name), initial=name in (granted or ())
                    )
        if for_donation:
            self.fields["applies_to"] = forms.ChoiceField(
                choices=[
                    (self.APPLIES_ALL, _("All my donations (the default for new ones too)")),
                    (self.APPLIES_DONATION, _("Only this donation")),
                ],
                initial=self.APPLIES_DONATION,
                widget=forms.RadioSelect,
                label=_("This consent applies to"),
            )

    def rows(self) -> list[tuple[str, str, list[forms.BoundField | None]]]:
        """(modality label, its explanation, [bound field or None per use]) for the matrix."""
        rows = []
        for modality in Modality:
            cells = [
                self[scope(modality.value, use.value)]
                if scope(modality.value, use.value) in self.fields
                else None
                for use in Use
            ]
            if any(cells):
                rows.append((str(modality.label), str(MODALITY_HELP[modality]), cells))
        return rows

    @staticmethod
    def uses() -> list[tuple[str, str]]:
        return [(str(use.label), str(USE_HELP[use])) for use in Use]

    def chosen_scopes(self) -> list[str]:
        return [name for name in self.offered if self.cleaned_data.get(name)]

    def applies_to_donation(self) -> bool:
        return self.cleaned_data.get("applies_to") == self.APPLIES_DONATION

    def as_hidden_choices(self) -> list[tuple[str, str]]:
        """The valid choices as (name, value) pairs, for the confirmation step to post again."""
        pairs = [(name, "on") for name in self.chosen_scopes()]
        pairs.append(("credit", str(self.cleaned_data["credit"])))
        pairs.append(("pseudonym", str(self.cleaned_data.get("pseudonym") or "")))
        if "applies_to" in self.fields:
            pairs.append(("applies_to", str(self.cleaned_data["applies_to"])))
        pairs.append(("understood", "on"))
        return pairs

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        if not any(cleaned.get(name) for name in self.offered):
            raise forms.ValidationError(_("Choose at least one thing you agree to share."))
        if cleaned.get("credit") == Credit.PSEUDONYM:
            pseudonym = str(cleaned.get("pseudonym") or "").strip()
            if not pseudonym:
                self.add_error("pseudonym", _("Choose a public pseudonym to be credited under."))
            else:
                problem = pseudonym_problem(pseudonym=pseudonym, user=self.user)
                if problem:
                    self.add_error("pseudonym", problem)
                cleaned["pseudonym"] = pseudonym
        return cleaned
