"""Forms for the settings pages. They parse input; services decide and write."""

from datetime import UTC, date, datetime, time

from django import forms
from django.core.validators import URLValidator
from django.utils import timezone

from accounts.models import ApiKey, User
from creator_site import netguard

_HTTP_URL = URLValidator(schemes=["http", "https"])


class ProfileForm(forms.Form):
    full_name = forms.CharField(
        label="Full name",
        max_length=150,
        error_messages={
            "required": "Enter your name so we know what to call you.",
            "max_length": "Your name can be at most 150 characters. Shorten it and save again.",
        },
        widget=forms.TextInput(attrs={"autocomplete": "name", "class": "form-control"}),
    )
    avatar_url = forms.URLField(
        label="Avatar URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        validators=[_HTTP_URL],
        widget=forms.URLInput(attrs={"class": "form-control"}),
        help_text="A link to a square image, starting with https://. Leave empty for none.",
        error_messages={"invalid": "Enter a full web address, such as https://…/me.png."},
    )


class NotificationsForm(forms.Form):
    email_notifications = forms.BooleanField(
        label="Email me when a job completes or fails",
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input", "role": "switch"}),
    )
    webhook_url = forms.URLField(
        label="Webhook URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        validators=[_HTTP_URL],
        widget=forms.URLInput(attrs={"class": "form-control"}),
        help_text="We POST a signed JSON event here when a job finishes. Leave empty for none.",
        error_messages={
            "invalid": "Enter a full web address, such as https://example.com/hooks/creator."
        },
    )

    def clean_webhook_url(self) -> str:
        url = self.cleaned_data.get("webhook_url") or ""
        if not url:
            return url
        try:
            netguard.check_url(url)
        except netguard.UnsafeURL as exc:
            # The same check every delivery makes: refused now, it would fail
            # every time, silently for the user.
            raise forms.ValidationError(
                f"Creator cannot send webhooks to this address: {exc} "
                "Use your receiver's public address."
            ) from exc
        except netguard.OutboundError:
            # The name does not resolve right now. Its DNS may not be set up
            # yet; every delivery checks again, so saving it is harmless.
            pass
        return url


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        widget=forms.TextInput(attrs={"class": "form-control"}),
        help_text="Something that tells you where the key is used, such as “build server”.",
        error_messages={
            "required": "Give the key a name so you can recognise it later.",
            "max_length": "Key names can be at most 100 characters.",
        },
    )
    scopes = forms.MultipleChoiceField(
        label="Scopes",
        choices=[(scope, scope) for scope in ApiKey.SCOPES],
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        error_messages={"required": "Choose at least one scope."},
    )
    expires_on = forms.DateField(
        label="Expires on (optional)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
        help_text="The key stops working at 00:00 UTC on this date. Leave empty to keep it "
        "until you revoke it.",
        error_messages={"invalid": "Enter the expiry date as YYYY-MM-DD."},
    )

    def clean_expires_on(self) -> date | None:
        expires_on = self.cleaned_data.get("expires_on")
        if expires_on is not None and expires_on <= timezone.now().date():
            raise forms.ValidationError("Choose an expiry date after today.")
        return expires_on

    @property
    def expires_at(self) -> datetime | None:
        expires_on = self.cleaned_data.get("expires_on")
        if expires_on is None:
            return None
        return datetime.combine(expires_on, time.min, tzinfo=UTC)


class DeleteAccountForm(forms.Form):
    confirm_email = forms.CharField(
        label="Type your email address to confirm",
        widget=forms.TextInput(attrs={"autocomplete": "off", "class": "form-control"}),
        error_messages={"required": "Type your email address to confirm the deletion."},
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_confirm_email(self) -> str:
        typed = self.cleaned_data["confirm_email"].strip()
        if typed.lower() != self.user.email.lower():
            raise forms.ValidationError(
                "That is not your account's email address. Type it exactly as shown above."
            )
        return typed
