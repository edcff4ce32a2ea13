from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from billing.models import (
    CreditBalance,
    CreditEntry,
    CreditPack,
    CreditPurchase,
    Plan,
    Reservation,
    Subscription,
    Usage,
)
from billing.services import MAX_ADJUSTMENT, InvalidAdjustment, credits_adjust


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "tier",
        "price_cents",
        "monthly_limit",
        "overage_price_cents",
        "jobs_per_hour",
        "stripe_price_id",
        "display_order",
        "is_public",
    ]
    list_editable = ["monthly_limit", "overage_price_cents", "jobs_per_hour", "display_order"]


@admin.register(CreditPack)
class CreditPackAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "credits",
        "price_cents",
        "stripe_price_id",
        "display_order",
        "is_active",
    ]
    list_editable = ["display_order", "is_active"]


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "tier",
        "status",
        "trial_ends_at",
        "current_period_end",
        "cancel_at_period_end",
    ]
    list_filter = ["tier", "status", "cancel_at_period_end"]
    search_fields = ["user__email", "stripe_customer_id", "stripe_subscription_id"]
    raw_id_fields = ["user"]


@admin.register(Usage)
class UsageAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "period_start",
        "tier",
        "allowance_used",
        "monthly_limit",
        "credits_used",
        "overage",
        "processed",
        "failed",
        "overage_charged_cents",
    ]
    list_filter = ["tier"]
    search_fields = ["user__email"]
    date_hierarchy = "period_start"
    raw_id_fields = ["user"]
    readonly_fields = [f.name for f in Usage._meta.fields]

    def has_add_permission(self, request):
        return False


class AdjustCreditsForm(forms.Form):
    amount = forms.IntegerField(
        min_value=-MAX_ADJUSTMENT,
        max_value=MAX_ADJUSTMENT,
        help_text="Credits to add (positive) or remove (negative).",
    )
    reason = forms.CharField(
        max_length=255, help_text="Shown in the user's ledger, e.g. “Refund for job 1234”."
    )

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError("Enter a non-zero number of credits.")
        return amount


@admin.register(CreditBalance)
class CreditBalanceAdmin(admin.ModelAdmin):
    list_display = ["user", "balance", "updated_at"]
    search_fields = ["user__email"]
    readonly_fields = ["user", "balance", "updated_at"]
    actions = ["adjust_credits"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Adjust credits (with a reason)…")
    def adjust_credits(self, request, queryset):
        form = AdjustCreditsForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            done = 0
            for balance in queryset.select_related("user"):
                try:
                    credits_adjust(
                        user=balance.user,
                        amount=form.cleaned_data["amount"],
                        reason=form.cleaned_data["reason"],
                        staff_user=request.user,
                    )
                    done += 1
                except InvalidAdjustment as error:
                    self.message_user(request, f"{balance.user}: {error.message}", messages.ERROR)
            if done:
                self.message_user(request, f"Adjusted {done} balance(s).", messages.SUCCESS)
            return None
        return TemplateResponse(
            request,
            "billing/admin/adjust_credits.html",
            {
                **self.admin_site.each_context(request),
                "title": "Adjust credits",
                "form": form,
                "balances": queryset.select_related("user"),
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            },
        )


@admin.register(CreditEntry)
class CreditEntryAdmin(admin.ModelAdmin):
    """The ledger is append-only: staff read it here and correct it through
    the "Adjust credits" action on balances."""

    list_display = ["created_at", "user", "kind", "amount", "balance_after", "description"]
    list_filter = ["kind"]
    search_fields = ["user__email", "idempotency_key", "generation_id"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CreditPurchase)
class CreditPurchaseAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "user",
        "pack",
        "credits",
        "amount_cents",
        "refunded_cents",
        "credits_clawed_back",
        "shortfall",
    ]
    search_fields = ["user__email", "checkout_session_id", "payment_intent_id"]
    readonly_fields = [f.name for f in CreditPurchase._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "user",
        "generation_id",
        "allowance",
        "credits",
        "overage",
        "outcome",
        "refunded_at",
    ]
    search_fields = ["user__email", "generation_id"]
    readonly_fields = [f.name for f in Reservation._meta.fields]

    def has_add_permission(self, request):
        return False
