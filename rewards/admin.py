"""Admin: publish reward rules, read the ledger and add corrections, decide and pay payouts.
Every write goes through rewards.services; nothing here edits or deletes a ledger entry."""

import uuid
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import csrf_protect_m
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from rewards.exceptions import RewardError
from rewards.models import LedgerEntry, PayoutRequest, RewardAccount, RewardRule
from rewards.selectors import reward_rule_list
from rewards.services import (
    ledger_adjust,
    payout_approve,
    payout_mark_paid,
    payout_reject,
    reward_daily_cap_default,
    reward_rule_create,
)
from rewards.statements import approved_payouts_csv


class RewardRuleForm(forms.ModelForm):
    class Meta:
        model = RewardRule
        fields = ("credits_per_minute", "audio_bonus", "events_bonus", "daily_cap", "effective_at")

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        # A cap is on by default; an admin who clears the field publishes a rule without one.
        self.fields["daily_cap"].initial = reward_daily_cap_default()

    def clean_effective_at(self):  # type: ignore[no-untyped-def]
        effective_at = self.cleaned_data["effective_at"]
        if effective_at < timezone.now() - timedelta(minutes=1):
            raise forms.ValidationError(_("A rule cannot take effect in the past."))
        latest = reward_rule_list().first()
        if latest is not None and effective_at < latest.effective_at:
            raise forms.ValidationError(
                _("A rule cannot take effect before the latest one (version %(version)d).")
                % {"version": latest.version}
            )
        return effective_at


@admin.register(RewardRule)
class RewardRuleAdmin(admin.ModelAdmin):
    """Rules are added, never edited: a change is a new version."""

    form = RewardRuleForm
    list_display = (
        "version",
        "credits_per_minute",
        "audio_bonus",
        "events_bonus",
        "daily_cap",
        "effective_at",
        "created_by",
    )

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        if obj is None:
            return ()
        return ("version", *RewardRuleForm.Meta.fields, "created_by", "created_at")

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    @csrf_protect_m
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):  # type: ignore[no-untyped-def]
        # The service owns its durable transaction; the admin's usual atomic wrapper around
        # this view would nest it. Nothing else here writes (there is no change view).
        return self._changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        created = reward_rule_create(**form.cleaned_data, created_by=request.user)
        obj.pk, obj.version = created.pk, created.version


class AdjustmentForm(forms.ModelForm):
    """An admin's correction. The key is fixed when the form is shown, so a double submit adds
    one entry."""

    user = forms.ModelChoiceField(queryset=User.objects.order_by("email"), label=_("Donor"))
    key = forms.CharField(widget=forms.HiddenInput)

    class Meta:
        model = LedgerEntry
        fields = ("credits", "reason")

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["key"].initial = f"adjustment:{uuid.uuid4()}"


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "account", "kind", "credits", "donation", "rule", "actor")
    list_filter = ("kind",)
    search_fields = ("account__user__email", "idempotency_key", "donation__id")
    list_select_related = ("account__user", "donation", "rule", "actor")
    readonly_fields = (
        "account",
        "kind",
        "credits",
        "idempotency_key",
        "donation",
        "payout",
        "rule",
        "reverses",
        "actor",
        "reason",
        "pricing",
        "created_at",
    )

    def get_form(self, request, obj=None, **kwargs):  # type: ignore[no-untyped-def]
        if obj is None:
            kwargs["form"] = AdjustmentForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        return () if obj is None else self.readonly_fields

    def get_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        return ("user", "credits", "reason", "key") if obj is None else self.readonly_fields

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    @csrf_protect_m
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):  # type: ignore[no-untyped-def]
        # The service owns its durable transaction; the admin's usual atomic wrapper around
        # this view would nest it. Nothing else here writes (there is no change view).
        return self._changeform_view(request, object_id, form_url, extra_context)

    def response_add(self, request, obj, post_url_continue=None):  # type: ignore[no-untyped-def]
        if obj.pk is None:  # the service refused it; the message says why
            return HttpResponseRedirect(reverse("admin:rewards_ledgerentry_changelist"))
        return super().response_add(request, obj, post_url_continue)

    def log_addition(self, request, obj, message):  # type: ignore[no-untyped-def]
        if obj.pk is not None:
            super().log_addition(request, obj, message)

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        try:
            entry = ledger_adjust(
                user=form.cleaned_data["user"],
                credits=form.cleaned_data["credits"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
                idempotency_key=form.cleaned_data["key"],
            )
        except RewardError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        obj.pk = entry.pk


@admin.register(RewardAccount)
class RewardAccountAdmin(admin.ModelAdmin):
    list_display = ("user", "leaderboard_opt_in", "created_at")
    readonly_fields = ("user", "leaderboard_opt_in", "created_at")
    search_fields = ("user__email",)

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(PayoutRequest)
class PayoutRequestAdmin(admin.ModelAdmin):
    list_display = ("id", "account", "credits", "status", "created_at", "external_reference")
    list_filter = ("status",)
    search_fields = ("account__user__email", "external_reference")
    list_select_related = ("account__user",)
    readonly_fields = (
        "id",
        "account",
        "credits",
        "status",
        "decided_by",
        "decided_at",
        "decision_note",
        "paid_at",
        "external_reference",
        "created_at",
    )
    actions = ("approve", "reject", "mark_paid", "export_approved")

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def _each(self, request, queryset, decide):  # type: ignore[no-untyped-def]
        done = 0
        for payout in queryset:
            try:
                decide(payout)
                done += 1
            except RewardError as exc:
                self.message_user(request, f"{payout.pk}: {exc}", messages.WARNING)
        if done:
            self.message_user(request, _("%(count)d payout(s) updated.") % {"count": done})

    @admin.action(description=_("Approve selected payouts"))
    def approve(self, request, queryset):  # type: ignore[no-untyped-def]
        self._each(request, queryset, lambda p: payout_approve(payout=p, admin=request.user))

    @admin.action(description=_("Reject selected payouts (returns the held credits)"))
    def reject(self, request, queryset):  # type: ignore[no-untyped-def]
        note = request.POST.get("note", "")
        if "confirm" not in request.POST or not note.strip():
            return self._ask(request, queryset, "reject", _("Why are they rejected?"), note)
        self._each(
            request, queryset, lambda p: payout_reject(payout=p, admin=request.user, note=note)
        )
        return None

    @admin.action(description=_("Mark selected payouts paid"))
    def mark_paid(self, request, queryset):  # type: ignore[no-untyped-def]
        if "confirm" not in request.POST:
            return self._ask(request, queryset, "mark_paid", _("Payment reference"), "")
        self._each(
            request,
            queryset,
            lambda p: payout_mark_paid(
                payout=p,
                admin=request.user,
                external_reference=request.POST.get(f"reference-{p.pk}", ""),
            ),
        )
        return None

    @admin.action(description=_("Export selected approved payouts (CSV)"))
    def export_approved(self, request, queryset):  # type: ignore[no-untyped-def]
        approved = queryset.filter(status=PayoutRequest.Status.APPROVED).select_related(
            "account__user"
        )
        response = HttpResponse(
            approved_payouts_csv(approved.order_by("created_at")),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = 'attachment; filename="approved-payouts.csv"'
        return response

    def _ask(self, request, queryset, action, label, note):  # type: ignore[no-untyped-def]
        return TemplateResponse(
            request,
            "rewards/admin/payout_action.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "payouts": queryset.select_related("account__user"),
                "action": action,
                "label": label,
                "note": note,
                "per_payout": action == "mark_paid",
                "title": label,
            },
        )
