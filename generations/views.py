"""Pages for jobs: run, gallery, detail with live progress, actions, files.

Views parse input, call one service or selector, and render.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from billing.services import QuotaExceeded, RateLimited
from generations import finishing, selectors, services
from generations.files import asset_from_token, asset_url
from generations.images import InvalidImage
from generations.models import Asset, Generation
from generations.progress import progress_get
from workflows.forms import bootstrap_widgets, parameters_form
from workflows.parameters import INPUT_IMAGE_FIELD, ParameterValuesError
from workflows.selectors import workflow_get_for_user

Status = Generation.Status


@login_required
@require_POST
def generation_create(request):
    workflow = workflow_get_for_user(user=request.user, id_or_slug=request.POST.get("workflow"))
    form = parameters_form(workflow)(request.POST, request.FILES)
    if form.is_valid():
        upload = None
        values = {}
        for name, value in form.cleaned_data.items():
            if hasattr(value, "read"):
                upload = value
            elif value is not None and value != "":
                values[name] = value
        if upload is None:
            form.add_error(INPUT_IMAGE_FIELD if INPUT_IMAGE_FIELD in form.fields else None,
                           "Choose an image to process.")  # fmt: skip
        else:
            try:
                generation = services.generation_create(
                    user=request.user,
                    workflow=workflow,
                    image=upload,
                    image_name=upload.name,
                    values=values,
                    source=Generation.Source.WEB,
                )
            except InvalidImage as exc:
                field = INPUT_IMAGE_FIELD if INPUT_IMAGE_FIELD in form.fields else None
                form.add_error(field, exc.message)
            except ParameterValuesError as exc:
                for name, errors in exc.errors.items():
                    for error in errors:
                        form.add_error(name if name in form.fields else None, error)
            except (QuotaExceeded, RateLimited) as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Your {workflow.name} job is queued.")
                return redirect("generations:detail", generation_id=generation.id)
    bootstrap_widgets(form)
    return render(
        request,
        "workflows/run.html",
        {"workflow": workflow, "form": form, "run_url": request.path},
        status=400,
    )


@login_required
def generation_gallery(request):
    filters = {
        "status": request.GET.get("status") if request.GET.get("status") in Status else None,
        "workflow": request.GET.get("workflow") or None,
        "project": request.GET.get("project") or None,
        "favorites": request.GET.get("favorites") == "1",
    }
    try:
        queryset = selectors.generation_list(user=request.user, filters=filters)
        page = Paginator(queryset, 24).get_page(request.GET.get("page"))
    except Exception as exc:  # a malformed id in a filter
        raise Http404("No such filter.") from exc
    selectors.generation_thumbnails_attach(generations=page.object_list)
    return render(
        request,
        "generations/gallery.html",
        {
            "page": page,
            "filters": filters,
            "statuses": Status.choices,
            "workflows": selectors.generation_workflows(user=request.user),
        },
    )


@login_required
def generation_detail(request, generation_id):
    generation = selectors.generation_get(user=request.user, generation_id=generation_id)
    assets = list(generation.assets.all())
    for asset in assets:
        asset.url = asset_url(asset)
    return render(
        request,
        "generations/detail.html",
        {
            "job": generation,
            "input": next((a for a in assets if a.kind == Asset.Kind.INPUT), None),
            "outputs": [a for a in assets if a.kind == Asset.Kind.OUTPUT],
            "events": generation.events.all(),
            "live": progress_get(generation=generation),
        },
    )


@login_required
@require_GET
def generation_progress(request, generation_id):
    """The job's progress bar (htmx polls it while the job runs)."""
    generation = selectors.generation_get(user=request.user, generation_id=generation_id)
    live = progress_get(generation=generation)
    if request.GET.get("row"):
        selectors.generation_thumbnails_attach(generations=[generation])
        return render(request, "generations/_job_row.html", {"job": generation, "live": live})
    response = render(request, "generations/_progress.html", {"job": generation, "live": live})
    if generation.is_final and request.GET.get("was") != generation.status:
        response["HX-Refresh"] = "true"  # show outputs/errors: re-render the whole page
    return response


@login_required
@require_POST
def generation_cancel(request, generation_id):
    generation = selectors.generation_get(user=request.user, generation_id=generation_id)
    if finishing.generation_cancel(generation=generation):
        messages.success(request, "The job was cancelled. Its credits were returned.")
    else:
        messages.info(request, "This job had already finished.")
    return redirect("generations:detail", generation_id=generation.id)


@login_required
@require_POST
def generation_retry(request, generation_id):
    generation = selectors.generation_get(user=request.user, generation_id=generation_id)
    try:
        new = services.generation_retry(generation=generation)
    except (ValueError, InvalidImage, ParameterValuesError) as exc:
        messages.error(request, str(exc))
        return redirect("generations:detail", generation_id=generation.id)
    messages.success(request, "The job is running again as a new job.")
    return redirect("generations:detail", generation_id=new.id)


@login_required
@require_POST
def generation_annotate(request, generation_id):
    """Favourite, rating and notes: the user's own marks on a job."""
    generation = selectors.generation_get(user=request.user, generation_id=generation_id)
    try:
        services.generation_annotate(
            generation=generation,
            is_favorite=_parse_bool(request.POST.get("is_favorite")),
            rating=request.POST.get("rating"),
            notes=request.POST.get("notes"),
        )
    except ValueError as exc:
        messages.error(request, str(exc))
    if request.htmx:
        return render(request, "generations/_favorite.html", {"job": generation})
    return redirect("generations:detail", generation_id=generation.id)


@require_GET
def asset_download(request, token):
    """Serve a stored file to whoever holds a valid, unexpired signed link."""
    asset = asset_from_token(token)
    if asset is None:
        raise Http404("This link has expired or is not valid.")
    response = FileResponse(
        asset.file.open("rb"),
        content_type=asset.content_type,
        as_attachment=request.GET.get("download") == "1",
        filename=asset.original_name or asset.file.name.rsplit("/", 1)[-1],
    )
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _parse_bool(value) -> bool | None:
    if value is None:
        return None
    return value in ("1", "true", "on")
