"""Forms for the workflow and project pages. They parse input; the services
validate and write."""

from typing import Any

from django import forms

from creator_site.textguard import UnstorableJSON, json_loads_strict
from workflows.graph import MAX_GRAPH_BYTES, GraphValidationError, graph_check_size, graph_parse
from workflows.models import (
    DESCRIPTION_MAX_LENGTH,
    NAME_MAX_LENGTH,
    NOTES_MAX_LENGTH,
    Project,
    Workflow,
)
from workflows.parameters import (
    MAX_PARAMETERS,
    TEXT_MAX_LENGTH,
    ImageInput,
    parameter_bounds,
    parameter_choices,
    workflow_image_inputs,
)

PARAMETERS_MAX_CHARS = 100_000


def bootstrap_widgets(form: forms.BaseForm) -> None:
    """Give every widget its Bootstrap 5 class (templates stay logic-free)."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select"
        else:
            css = "form-control"
        existing = widget.attrs.get("class", "")
        if css not in existing:
            widget.attrs["class"] = f"{css} {existing}".strip()


def _parse_parameters(text: str) -> list:
    text = (text or "").strip()
    if not text:
        return []
    if len(text) > PARAMETERS_MAX_CHARS:
        raise forms.ValidationError(
            f"The parameter schema is too long (at most {PARAMETERS_MAX_CHARS:,} characters)."
        )
    try:
        value = json_loads_strict(text)
    except UnstorableJSON as exc:
        raise forms.ValidationError(f"The parameter schema cannot be stored: {exc}") from None
    except (ValueError, RecursionError) as exc:
        raise forms.ValidationError(f"The parameter schema is not valid JSON ({exc}).") from None
    if not isinstance(value, list):
        raise forms.ValidationError(
            f"The parameter schema must be a JSON list (at most {MAX_PARAMETERS} parameters)."
        )
    return value


class ProjectChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class WorkflowImportForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX_LENGTH)
    description = forms.CharField(
        max_length=DESCRIPTION_MAX_LENGTH, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    category = forms.ChoiceField(
        choices=Workflow.Category.choices, initial=Workflow.Category.IMAGE_TO_IMAGE
    )
    visibility = forms.ChoiceField(
        choices=Workflow.Visibility.choices, initial=Workflow.Visibility.PRIVATE
    )
    project = ProjectChoiceField(queryset=Project.objects.none(), required=False)
    graph_text = forms.CharField(
        label="Workflow JSON (API format)",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 12, "class": "font-monospace", "spellcheck": "false"}),
        help_text="Paste the file ComfyUI saves with Workflow → Export (API).",
    )
    graph_file = forms.FileField(
        label="…or upload the .json file",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".json,application/json"}),
    )
    parameters_text = forms.CharField(
        label="Exposed parameters (JSON list, optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "class": "font-monospace", "spellcheck": "false"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = Project.objects.filter(
            owner=user, archived_at__isnull=True
        )
        self.graph_problems: list[str] = []
        bootstrap_widgets(self)

    def clean_parameters_text(self):
        return _parse_parameters(self.cleaned_data.get("parameters_text", ""))

    def clean(self):
        cleaned = super().clean()
        text, upload = cleaned.get("graph_text") or "", cleaned.get("graph_file")
        if upload and text.strip():
            raise forms.ValidationError("Paste the JSON or upload a file, not both.")
        if not upload and not text.strip():
            raise forms.ValidationError("Paste the workflow JSON or upload its .json file.")
        try:
            if upload:
                graph_check_size(upload.size)
            raw = upload.read(MAX_GRAPH_BYTES + 1) if upload else text
            cleaned["graph"] = graph_parse(raw)
        except GraphValidationError as exc:
            self.graph_problems = exc.messages
            raise forms.ValidationError(exc.messages) from None
        return cleaned


class WorkflowSettingsForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX_LENGTH)
    description = forms.CharField(
        max_length=DESCRIPTION_MAX_LENGTH, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    category = forms.ChoiceField(choices=Workflow.Category.choices)
    visibility = forms.ChoiceField(choices=Workflow.Visibility.choices)
    project = ProjectChoiceField(queryset=Project.objects.none(), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = Project.objects.filter(
            owner=user, archived_at__isnull=True
        )
        bootstrap_widgets(self)


class ParametersEditForm(forms.Form):
    parameters_text = forms.CharField(
        label="Exposed parameters (JSON list)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 16, "class": "font-monospace", "spellcheck": "false"}),
    )
    notes = forms.CharField(
        label="What changed?",
        max_length=NOTES_MAX_LENGTH,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Exposed the upscale factor"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrap_widgets(self)

    def clean_parameters_text(self):
        return _parse_parameters(self.cleaned_data.get("parameters_text", ""))


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX_LENGTH)
    description = forms.CharField(
        max_length=DESCRIPTION_MAX_LENGTH, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    color = forms.CharField(
        label="Colour",
        max_length=7,
        initial="#6C757D",
        widget=forms.TextInput(attrs={"type": "color", "class": "form-control form-control-color"}),
    )
    tags = forms.CharField(
        required=False,
        max_length=1000,
        help_text="Separate tags with commas.",
    )
    metadata_text = forms.CharField(
        label="Custom metadata (JSON object, optional)",
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 4, "class": "font-monospace", "spellcheck": "false"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrap_widgets(self)

    def clean_metadata_text(self):
        text = self.cleaned_data.get("metadata_text", "").strip()
        if not text:
            return {}
        try:
            value = json_loads_strict(text)
        except UnstorableJSON as exc:
            raise forms.ValidationError(str(exc)) from None
        except (ValueError, RecursionError) as exc:
            raise forms.ValidationError(f"This is not valid JSON ({exc}).") from None
        if not isinstance(value, dict):
            raise forms.ValidationError('Use a JSON object, e.g. {"client": "Acme"}.')
        return value


# --- running a workflow -------------------------------------------------------

IMAGE_ACCEPT = "image/jpeg,image/png,image/webp,image/gif"


def parameters_form(workflow: Any) -> type[forms.Form]:
    """A Django Form class for running `workflow` (a Workflow or WorkflowVersion).

    One field per parameter, typed and bounded like the schema, and an
    upload field per image input, named `image_input_field(name)` (the usual
    single input's is INPUT_IMAGE_FIELD). `cleaned_data` holds values ready
    for `graph_compile` (uploads are left to the caller)."""
    fields: dict[str, forms.Field] = {}
    for param in workflow.parameters or []:
        if param["type"] != "image":
            fields[param["name"]] = _form_field(param)
    for image_input in workflow_image_inputs(workflow.parameters or []):
        fields[image_input.form_field] = _upload_field(image_input)
    return type("ParametersForm", (forms.Form,), fields)


def _upload_field(image_input: ImageInput) -> forms.FileField:
    help_text = image_input.help or "JPEG, PNG, WebP or GIF."
    if image_input.channel and not image_input.help:
        help_text += f" Its {image_input.channel} channel is the mask."
    return forms.FileField(
        label=image_input.label,
        help_text=help_text,
        required=image_input.required,
        widget=forms.ClearableFileInput(attrs={"accept": IMAGE_ACCEPT}),
    )


def _form_field(param: dict) -> forms.Field:
    ptype = param["type"]
    label = param.get("label") or param["name"].replace("_", " ").capitalize()
    common: dict[str, Any] = {
        "label": label,
        "help_text": param.get("help", ""),
        "required": bool(param.get("required")) and param.get("default") is None,
        "initial": param.get("default"),
    }
    if ptype == "text":
        widget = forms.Textarea(attrs={"rows": 3}) if param.get("multiline") else None
        return forms.CharField(
            max_length=param.get("max_length", TEXT_MAX_LENGTH),
            strip=False,
            widget=widget,
            **common,
        )
    if ptype in ("number", "integer", "seed"):
        low, high = parameter_bounds(param)
        attrs = {}
        if "step" in param:
            attrs["step"] = str(param["step"])
        elif ptype == "number":
            attrs["step"] = "any"
        field_class = forms.FloatField if ptype == "number" else forms.IntegerField
        if ptype == "seed":
            common["required"] = False
            common["help_text"] = common["help_text"] or "Leave empty for a random seed."
        return field_class(
            min_value=low,
            max_value=high,
            widget=forms.NumberInput(attrs=attrs),
            **common,
        )
    if ptype == "boolean":
        common["required"] = False
        return forms.BooleanField(**common)
    if ptype == "choice":
        pairs = parameter_choices(param)
        by_text = {str(value): value for value, _label in pairs}
        return forms.TypedChoiceField(
            choices=[(str(value), label) for value, label in pairs],
            coerce=lambda text: by_text[text],
            **{**common, "initial": None if common["initial"] is None else str(common["initial"])},
        )
    raise ValueError(f"Unknown parameter type {ptype!r}")
