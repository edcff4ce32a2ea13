"""Onboarding and settings pages. Each view parses a form, calls one service, renders."""

import tempfile

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts import selectors, services
from accounts.forms import ApiKeyCreateForm, DeleteAccountForm, NotificationsForm, ProfileForm
from accounts.onboarding import ONBOARDING_STEPS


@login_required
@require_http_methods(["GET", "POST"])
def onboarding(request: HttpRequest) -> HttpResponse:
    """The setup wizard. Each step's form posts to the drive app (connect,
    choose folder, choose preset) and comes back here; posting here finishes."""
    if request.method == "POST":
        services.user_complete_onboarding(user=request.user)
        messages.success(request, "You're all set. Welcome to Creator!")
        return redirect("dashboard")
    if request.user.onboarding_completed:
        return redirect("dashboard")
    from drive.views import onboarding_context  # the wizard's steps are about sources

    context = onboarding_context(request)
    context["steps"] = ONBOARDING_STEPS
    context["current_step"] = ONBOARDING_STEPS[context["step_number"] - 1]
    return render(request, "accounts/onboarding.html", context)


# --- Settings -------------------------------------------------------------------
# never_cache everywhere: these pages show secrets (webhook secret, a new API
# key) that must not be kept by the browser or a shared proxy.


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def settings_profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            try:
                services.user_update_profile(user=user, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, "Your profile has been saved.")
                return redirect("settings")
    else:
        form = ProfileForm(initial={"full_name": user.full_name, "avatar_url": user.avatar_url})
    return _render_settings(request, "accounts/settings_profile.html", "profile", {"form": form})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def settings_notifications(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        form = NotificationsForm(request.POST)
        if form.is_valid():
            try:
                services.user_update_notifications(user=user, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, "Your notification settings have been saved.")
                return redirect("settings_notifications")
    else:
        form = NotificationsForm(
            initial={
                "email_notifications": user.email_notifications,
                "webhook_url": user.webhook_url,
            }
        )
    return _render_settings(
        request, "accounts/settings_notifications.html", "notifications", {"form": form}
    )


@login_required
@require_POST
def settings_rotate_webhook_secret(request: HttpRequest) -> HttpResponse:
    services.user_rotate_webhook_secret(user=request.user)
    messages.success(
        request,
        "A new signing secret has been created and the old one no longer works. "
        "Update your webhook receiver with the new secret.",
    )
    return redirect("settings_notifications")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def settings_api_keys(request: HttpRequest) -> HttpResponse:
    new_key = None
    if request.method == "POST":
        form = ApiKeyCreateForm(request.POST)
        if form.is_valid():
            try:
                new_key = services.api_key_create(
                    user=request.user,
                    name=form.cleaned_data["name"],
                    scopes=form.cleaned_data["scopes"],
                    expires_at=form.expires_at,
                )
            except ValueError as exc:
                form.add_error(None, str(exc))
            else:
                # Rendered straight into this response, not redirected: the
                # full key then never passes through the session or a cookie,
                # and reloading the page cannot show it again.
                form = ApiKeyCreateForm()
    else:
        form = ApiKeyCreateForm()
    return _render_settings(
        request,
        "accounts/settings_api_keys.html",
        "api_keys",
        {
            "form": form,
            "new_key": new_key,
            "api_keys": selectors.api_key_list(user=request.user),
            "now": timezone.now(),
        },
    )


@login_required
@require_http_methods(["GET"])
def settings_api_quickstart(request: HttpRequest) -> HttpResponse:
    """curl and Python examples filled in with the user's own key prefix and
    a workflow they can really run."""
    from workflows.selectors import preset_list, workflow_list

    usable = [k for k in selectors.api_key_list(user=request.user) if k.is_usable]
    workflow = (
        workflow_list(user=request.user, tab="mine").first()
        or preset_list().filter(slug=request.user.default_preset).first()
        or preset_list().first()
    )
    return _render_settings(
        request,
        "accounts/api_quickstart.html",
        "api_keys",
        {
            "api_key": usable[0] if usable else None,
            "workflow_slug": workflow.slug if workflow else "portrait_pro",
            "api_base": request.build_absolute_uri("/api/v1"),
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def settings_api_key_revoke(request: HttpRequest, key_id) -> HttpResponse:
    api_key = selectors.api_key_get(user=request.user, key_id=key_id)
    if api_key is None:
        raise Http404("No such API key.")
    if request.method == "POST":
        services.api_key_revoke(user=request.user, key_id=api_key.id)
        messages.success(
            request,
            f"The key “{api_key.name}” has been revoked. Requests using it are now refused.",
        )
        return redirect("settings_api_keys")
    return _render_settings(
        request, "accounts/settings_api_key_revoke.html", "api_keys", {"api_key": api_key}
    )


@never_cache
@login_required
@require_http_methods(["GET"])
def settings_danger(request: HttpRequest) -> HttpResponse:
    form = DeleteAccountForm(user=request.user)
    return _render_settings(request, "accounts/settings_danger.html", "danger", {"form": form})


@login_required
@require_POST
def settings_export(request: HttpRequest) -> FileResponse:
    # A temporary file, not memory: exports include every output image.
    fileobj = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
    services.user_export_write_zip(user=request.user, fileobj=fileobj)
    fileobj.seek(0)
    filename = f"creator-export-{timezone.now():%Y-%m-%d}.zip"
    return FileResponse(
        fileobj, as_attachment=True, filename=filename, content_type="application/zip"
    )


@login_required
@require_POST
def settings_delete_account(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = DeleteAccountForm(request.POST, user=user)
    if not form.is_valid():
        response = _render_settings(
            request, "accounts/settings_danger.html", "danger", {"form": form}
        )
        response.status_code = 400
        return response
    services.user_delete(user=user)
    logout(request)
    messages.success(
        request, "Your account and all of its data have been deleted. Thank you for using Creator."
    )
    return redirect("landing")


def _render_settings(request: HttpRequest, template: str, section: str, context: dict):
    return render(request, template, {"section": section, **context})
