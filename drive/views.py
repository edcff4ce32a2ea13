"""Drive and inbox pages. Each view parses input, calls one service, renders."""

from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts.onboarding import ONBOARDING_STEP_KEYS as ONBOARDING_STEPS
from drive import selectors, services, sources
from drive.models import SourceConnection
from drive.receivers import SESSION_FLAG

Kind = SourceConnection.Kind


def inbox_enabled() -> bool:
    # A folder on the server only makes sense when Creator runs on your machine.
    return settings.INBOX_ENABLED


def google_configured() -> bool:
    return bool(services.google_app_credentials()[0])


def _next(request: HttpRequest, default: str = "drive:home") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return reverse(default)


def _connection_or_404(request: HttpRequest, kind: str | None = None) -> SourceConnection:
    kind = kind or request.POST.get("kind") or request.GET.get("kind") or Kind.DRIVE
    connection = selectors.connection_get(user=request.user, kind=kind)
    if connection is None:
        raise Http404("No such connection.")
    return connection


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    from workflows.selectors import preset_list

    panels = [
        {
            "connection": c,
            "polls": selectors.poll_list(connection=c),
            "problems": selectors.source_file_problems(connection=c),
            "waiting": selectors.source_file_waiting(connection=c),
            "jobs": selectors.source_file_jobs(connection=c),
        }
        for c in selectors.connection_list(user=request.user)
    ]
    return render(
        request,
        "drive/home.html",
        {
            "panels": panels,
            "has_drive": any(p["connection"].kind == Kind.DRIVE for p in panels),
            "has_inbox": any(p["connection"].kind == Kind.INBOX for p in panels),
            "google_configured": google_configured(),
            "inbox_enabled": inbox_enabled(),
            "presets": preset_list(),
        },
    )


@login_required
@require_POST
def connect(request: HttpRequest) -> HttpResponse:
    """Start Google's consent flow for Drive (through allauth)."""
    back = _next(request)
    if not google_configured():
        messages.error(
            request,
            "Google sign-in is not set up on this server, so Drive cannot be connected. "
            "Use the local inbox folder instead, or ask the administrator to add Google "
            "credentials.",
        )
        return redirect(back)
    request.session[SESSION_FLAG] = True
    query = urlencode(
        {
            "process": "connect",
            "scope": ",".join(services.drive_scopes()),
            # Offline access and a fresh consent: Google only sends a refresh
            # token when the user consents, and we need one to poll.
            "auth_params": "access_type=offline&prompt=consent&include_granted_scopes=true",
            "next": back,
        }
    )
    return redirect(reverse("google_login") + "?" + query)


@login_required
@require_POST
def inbox_connect(request: HttpRequest) -> HttpResponse:
    if not inbox_enabled():
        raise Http404("The local inbox is not available on this server.")
    try:
        connection = services.inbox_connect(user=request.user)
    except services.ConnectError as exc:
        messages.error(request, str(exc))
    else:
        shared = Path(settings.INBOX_DIR).expanduser().resolve()
        if Path(connection.inbox_path).parent == shared:
            # The inbox is another account's (the first one to use it).
            messages.success(
                request,
                f"The inbox {shared} belongs to another account, so Creator made you your "
                f"own: {connection.inbox_path}. Drop an image there.",
            )
        else:
            messages.success(
                request, f"Creator now watches {connection.inbox_path}. Drop an image there."
            )
    return redirect(_next(request))


@login_required
@require_GET
def folders(request: HttpRequest) -> HttpResponse:
    """The folder browser (a full page, or the list alone for htmx)."""
    connection = _connection_or_404(request, Kind.DRIVE)
    parent = request.GET.get("parent") or None
    context = {
        "connection": connection,
        "parent": parent,
        "next": _next(request),
        "folders": [],
        "error": "",
    }
    if connection.state != SourceConnection.State.CONNECTED:
        context["error"] = "Connect Google Drive again to browse your folders."
    else:
        try:
            context["folders"] = services.connection_folders(
                connection=connection, parent_id=parent
            )
        except sources.SourceError as exc:
            context["error"] = f"Your folders could not be listed. {exc.message}"
    template = "drive/_folder_browser.html" if request.htmx else "drive/folders.html"
    return render(request, template, context)


@login_required
@require_POST
def folder_choose(request: HttpRequest) -> HttpResponse:
    connection = _connection_or_404(request)
    try:
        connection = services.connection_choose_folder(
            connection=connection, folder_id=request.POST.get("folder_id", "")
        )
    except services.ConnectError as exc:
        messages.error(request, str(exc))
        return redirect(_next(request))
    messages.success(
        request,
        f"Creator now watches “{connection.folder_name}”. Results go to its "
        f"“{connection.output_folder_name}” subfolder.",
    )
    return redirect(_next(request))


@login_required
@require_POST
def preset_choose(request: HttpRequest) -> HttpResponse:
    connection = _connection_or_404(request)
    try:
        services.connection_set_preset(
            connection=connection, preset_slug=request.POST.get("preset", "")
        )
    except services.ConnectError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "The preset for new images has been saved.")
    return redirect(_next(request))


@login_required
@require_POST
def disconnect(request: HttpRequest) -> HttpResponse:
    connection = _connection_or_404(request)
    services.connection_disconnect(connection=connection)
    messages.success(
        request,
        f"{connection.get_kind_display()} is disconnected and Creator no longer watches it.",
    )
    return redirect(_next(request))


@login_required
@require_POST
def poll_now(request: HttpRequest) -> HttpResponse:
    from drive.tasks import connection_poll

    connection = _connection_or_404(request)
    claim = services.connection_claim(connection_id=connection.id)
    if claim is None:
        messages.info(request, "A check is already running; results appear in a moment.")
    else:
        connection_poll.delay(connection.id, str(claim))
        messages.success(request, "Checking the folder now.")
    return redirect(_next(request))


# --- onboarding wizard (hosted by accounts.views.onboarding) -----------------------


def onboarding_context(request: HttpRequest) -> dict:
    """What the wizard shows at `?step=`: connect a source -> choose a folder
    -> choose a preset -> summary. Without a step, the first unfinished one."""
    from workflows.selectors import preset_list

    connections = {c.kind: c for c in selectors.connection_list(user=request.user)}
    drive = connections.get(Kind.DRIVE)
    if drive is not None and drive.state != SourceConnection.State.CONNECTED:
        drive = None
    inbox = connections.get(Kind.INBOX)
    if inbox is not None and inbox.state != SourceConnection.State.CONNECTED:
        inbox = None
    active = drive or inbox
    if active is None:
        default = "source"
    elif not active.folder_id:
        default = "folder"
    else:
        default = "preset"
    step = request.GET.get("step", default)
    if step not in ONBOARDING_STEPS or (active is None and step != "source"):
        step = "source"
    context = {
        "step": step,
        "step_number": ONBOARDING_STEPS.index(step) + 1,
        "active": active,
        "drive": drive,
        "inbox": inbox,
        "google_configured": google_configured(),
        "inbox_enabled": inbox_enabled(),
        "presets": preset_list() if step == "preset" else [],
        "folders": [],
        "error": "",
        "parent": None,
        "next": reverse("onboarding") + "?step=preset",
    }
    if step == "folder" and active is not None and active.kind == Kind.DRIVE:
        try:
            context["folders"] = services.connection_folders(connection=active)
        except sources.SourceError as exc:
            context["error"] = f"Your folders could not be listed. {exc.message}"
    return context
