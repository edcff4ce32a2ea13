"""Staff views of people and their API keys.

The user admin works with the email-only model; the API key admin never shows
or edits a key's hash and cannot create keys (a new key's secret must be shown
to its owner once, which only the settings page does).
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts import services
from accounts.models import ApiKey, User
from billing.services import subscription_start_trial


def _clean_unique_email(form: forms.ModelForm) -> str:
    # Emails are unique regardless of case; say so on the form rather than
    # letting the database constraint turn it into a server error.
    email = User.objects.normalize_email(form.cleaned_data.get("email", ""))
    taken = User.objects.filter(email__iexact=email).exclude(pk=form.instance.pk)
    if taken.exists():
        raise forms.ValidationError("A user with this email address already exists.")
    return email


def _formfield(db_field, **kwargs):
    # Django 6 makes https the default scheme for typed-in URLs; opt in now.
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name")
        formfield_callback = _formfield

    def clean_email(self) -> str:
        return _clean_unique_email(self)


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        formfield_callback = _formfield

    def clean_email(self) -> str:
        return _clean_unique_email(self)


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    fields = ["name", "prefix", "scopes", "created_at", "last_used_at", "expires_at", "revoked_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name", "avatar_url", "default_preset")}),
        (
            "Notifications",
            {"fields": ("email_notifications", "webhook_url"), "classes": ("collapse",)},
        ),
        ("Onboarding", {"fields": ("onboarding_completed",)}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Activity", {"fields": ("login_count", "last_login", "created_at", "updated_at")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "usable_password", "password1", "password2"),
            },
        ),
    )
    readonly_fields = ["login_count", "last_login", "created_at", "updated_at"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = [
        "email",
        "full_name",
        "tier",
        "subscription_status",
        "is_active",
        "is_staff",
        "login_count",
        "last_login",
        "created_at",
    ]
    list_filter = [
        "subscription__tier",
        "subscription__status",
        "is_active",
        "is_staff",
        "created_at",
    ]
    search_fields = ["email", "full_name"]
    ordering = ["-created_at"]
    date_hierarchy = "created_at"
    list_select_related = ["subscription"]
    inlines = [ApiKeyInline]

    def get_inlines(self, request: HttpRequest, obj: User | None):
        # A user being added has no keys yet.
        return self.inlines if obj is not None else []

    @admin.display(description="Tier", ordering="subscription__tier")
    def tier(self, user: User) -> str:
        subscription = getattr(user, "subscription", None)
        return subscription.get_tier_display() if subscription else "—"

    @admin.display(description="Status", ordering="subscription__status")
    def subscription_status(self, user: User) -> str:
        subscription = getattr(user, "subscription", None)
        return subscription.get_status_display() if subscription else "—"

    def save_model(self, request: HttpRequest, obj: User, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            # Every account starts with the trial (SPEC §3), however it was made.
            subscription_start_trial(user=obj)

    # Deleting from the admin must erase the user's files too, not only rows.
    def delete_model(self, request: HttpRequest, obj: User) -> None:
        services.user_delete(user=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            services.user_delete(user=user)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "prefix",
        "name",
        "user",
        "scopes",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["prefix", "name", "user__email"]
    list_select_related = ["user"]
    # key_hash is excluded everywhere: it is not a secret by itself, but
    # nothing is gained by showing it and it must never be edited.
    exclude = ["key_hash"]
    fields = [
        "user",
        "name",
        "prefix",
        "scopes",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    readonly_fields = ["user", "prefix", "scopes", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke_selected"]
    ordering = ["-created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = 0
        for api_key in queryset.filter(revoked_at__isnull=True).select_related("user"):
            services.api_key_revoke(user=api_key.user, key_id=api_key.id)
            revoked += 1
        self.message_user(
            request,
            f"Revoked {revoked} key{'s' if revoked != 1 else ''}.",
            messages.SUCCESS,
        )
