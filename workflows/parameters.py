"""Exposed parameters: the schema a workflow shows its users, and the only
code that writes values into a graph.

A schema is a JSON list of parameters::

    {"name": "softening", "type": "number", "label": "Skin softening",
     "help": "...", "default": 0.35, "min": 0, "max": 1, "step": 0.01,
     "required": false, "node_id": "3", "node_input": "blend_factor"}

Types: text, number, integer, boolean, choice (with "choices": a list of
values or of {"value", "label"}), seed (a random one when left empty) and
image. An image entry is an *input*, not a value: a run uploads a file for
it, and the file's name on the ComfyUI server is written into its target::

    {"name": "mask", "type": "image", "label": "Mask", "required": true,
     "node_id": "2", "node_input": "image", "channel": "red"}

Inputs come from the graph: every LoadImage / LoadImageMask node is one
(`image_inputs_complete` adds the entries a schema lacks, named from the
node's title, `image` when it is the only one); the schema is where users
rename and relabel them, mark them optional, or pick a mask's channel.

The schema drives the dashboard form (`workflows.forms.parameters_form`),
the API's input schema (`parameters_json_schema`) and the run-time copy of
the graph (`graph_compile`). Values and inputs are checked per field; every
problem is reported together in one `ParameterValuesError`.
"""

from __future__ import annotations

import copy
import math
import re
import secrets
from dataclasses import dataclass
from typing import Any

from django.utils.text import slugify

from workflows.graph import (
    GraphProblem,
    GraphValidationError,
    graph_problems,
    graph_unreadable,
    input_spec,
    is_link,
    is_live_file_list,
    node_sort_key,
    spec_options,
)

TYPES = ("text", "number", "integer", "boolean", "choice", "seed", "image")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
MAX_PARAMETERS = 50
MAX_CHOICES = 100
LABEL_MAX_LENGTH = 100
HELP_MAX_LENGTH = 500
TEXT_MAX_LENGTH = 5000
SEED_MIN = 0
SEED_MAX = 2**64 - 1
# Random seeds stay below 2**53 so JavaScript clients read them exactly.
RANDOM_SEED_LIMIT = 2**53
# ComfyUI nodes that load an uploaded file: each is an image input.
IMAGE_NODE_TYPES = frozenset({"LoadImage", "LoadImageMask"})
MASK_NODE_TYPE = "LoadImageMask"
MASK_CHANNELS = ("alpha", "red", "green", "blue")
# The form field of a workflow's only image input (named "image"); see image_input_field.
INPUT_IMAGE_FIELD = "input_image"
RESERVED_NAMES = frozenset({INPUT_IMAGE_FIELD})
KNOWN_KEYS = frozenset(
    {
        "name",
        "type",
        "label",
        "help",
        "default",
        "min",
        "max",
        "step",
        "choices",
        "required",
        "node_id",
        "node_input",
        "max_length",
        "multiline",
        "channel",
    }
)


class ParameterValuesError(Exception):
    """Values do not fit the schema. `errors` maps parameter names to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__(
            "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in sorted(errors.items()))
        )


# --- schema -------------------------------------------------------------------


def parameter_bounds(param: dict) -> tuple[float | int | None, float | int | None]:
    """Effective (min, max) of a numeric parameter, seeds included."""
    if param.get("type") == "seed":
        low = param.get("min", SEED_MIN)
        high = param.get("max", SEED_MAX)
        return low, high
    return param.get("min"), param.get("max")


def parameter_choices(param: dict) -> list[tuple[Any, str]]:
    """(value, label) pairs of a choice parameter."""
    pairs = []
    for choice in param.get("choices") or []:
        if isinstance(choice, dict):
            pairs.append((choice.get("value"), str(choice.get("label", choice.get("value")))))
        else:
            pairs.append((choice, str(choice)))
    return pairs


def workflow_problems(
    *, graph: Any, parameters: Any, object_info: dict | None = None
) -> list[GraphProblem]:
    """Every problem with a graph and its parameter schema, the graph's first.

    What services check before saving a workflow or a version. A graph that
    cannot be read at all (see `graph_unreadable`) gives only that one
    problem: its schema has nothing to target."""
    problems = graph_problems(graph, object_info=object_info)
    if graph_unreadable(graph) is not None:
        return problems
    return problems + parameters_problems(
        parameters=parameters, graph=graph, object_info=object_info
    )


def workflow_validate(*, graph: Any, parameters: Any, object_info: dict | None = None) -> None:
    """Raise GraphValidationError listing every problem of `workflow_problems`."""
    problems = workflow_problems(graph=graph, parameters=parameters, object_info=object_info)
    if problems:
        raise GraphValidationError(problems)


def parameters_problems(
    *, parameters: Any, graph: dict, object_info: dict | None = None
) -> list[GraphProblem]:
    """Every problem with a schema, checked against the graph it targets.

    Targets must exist and hold a literal value (not a link), no two
    parameters may write the same node input, names must be unique and
    defaults must be valid values of their parameter. With `object_info`,
    a parameter must also not allow values its target input would reject."""
    problems = _schema_problems(parameters, graph)
    if object_info is not None and isinstance(parameters, list):
        problems.extend(_range_problems(graph, parameters, object_info))
    return problems


def _schema_problems(parameters: Any, graph: dict) -> list[GraphProblem]:
    if not isinstance(parameters, list):
        return [GraphProblem("The parameter schema must be a JSON list of parameters.")]
    if len(parameters) > MAX_PARAMETERS:
        return [GraphProblem(f"A workflow can expose at most {MAX_PARAMETERS} parameters.")]
    problems: list[GraphProblem] = []
    seen_names: set[str] = set()
    targets: dict[tuple[str, str], str] = {}
    for position, param in enumerate(parameters, start=1):
        if not isinstance(param, dict):
            problems.append(GraphProblem(f"Parameter {position} must be an object."))
            continue
        name = param.get("name")
        if not isinstance(name, str) or not NAME_PATTERN.match(name) or name in RESERVED_NAMES:
            problems.append(
                GraphProblem(
                    f"Parameter {position}: the name must start with a lowercase letter and use "
                    "only lowercase letters, digits and underscores (at most 50 characters)."
                )
            )
            continue
        if name in seen_names:
            problems.append(GraphProblem(f"Parameter “{name}” is defined twice."))
            continue
        seen_names.add(name)
        problems.extend(GraphProblem(f"Parameter “{name}”: {m}") for m in _shape_problems(param))

        node_id, node_input = param.get("node_id"), param.get("node_input")
        if isinstance(node_id, int) and not isinstance(node_id, bool):
            node_id = str(node_id)
        if not isinstance(node_id, str) or not isinstance(node_input, str):
            problems.append(
                GraphProblem(
                    f"Parameter “{name}” needs a “node_id” and a “node_input” to write to."
                )
            )
            continue
        node = graph.get(node_id) if isinstance(graph, dict) else None
        if not isinstance(node, dict):
            problems.append(
                GraphProblem(
                    f"parameter “{name}” targets this node, which is not in the workflow.",
                    node_id,
                )
            )
            continue
        class_type = node.get("class_type") if isinstance(node.get("class_type"), str) else None
        inputs = node.get("inputs") if isinstance(node.get("inputs"), dict) else {}
        if node_input not in inputs:
            problems.append(
                GraphProblem(
                    f"parameter “{name}” targets this input, which the node does not have.",
                    node_id,
                    class_type,
                    node_input,
                )
            )
            continue
        if is_link(inputs[node_input]):
            problems.append(
                GraphProblem(
                    f"parameter “{name}” targets a link from another node; only inputs "
                    "holding a value can be exposed.",
                    node_id,
                    class_type,
                    node_input,
                )
            )
            continue
        written = [node_input]
        if "channel" in param:
            # A mask input also writes its channel into the node.
            if class_type != MASK_NODE_TYPE or "channel" not in inputs:
                problems.append(
                    GraphProblem(
                        f"image input “{name}” has a “channel”, but only a {MASK_NODE_TYPE} "
                        "node has one.",
                        node_id,
                        class_type,
                    )
                )
                continue
            written.append("channel")
        for target in written:
            key = (node_id, target)
            if key in targets:
                problems.append(
                    GraphProblem(
                        f"parameters “{targets[key]}” and “{name}” both write to this input; "
                        "each input can be exposed once.",
                        node_id,
                        class_type,
                        target,
                    )
                )
                break
            targets[key] = name
    return problems + _input_coverage_problems(parameters, graph, targets)


def _input_coverage_problems(
    parameters: list, graph: dict, targets: dict[tuple[str, str], str]
) -> list[GraphProblem]:
    """Every image node is named by the schema, and no form field is taken twice."""
    problems = [
        GraphProblem(
            "this node loads an image, so it is an image input, but the schema does not "
            "name it. Add an “image” entry for it (saving the workflow adds one).",
            node_id,
            graph[node_id]["class_type"],
            "image",
        )
        for node_id in (_image_node_ids(graph) if isinstance(graph, dict) else [])
        if (node_id, "image") not in targets
    ]
    fields = {image_input_field(i.name): i.name for i in workflow_image_inputs(parameters)}
    for param in parameters:
        if not isinstance(param, dict) or param.get("type") == "image":
            continue
        name = param.get("name")
        if isinstance(name, str) and name in fields:
            problems.append(
                GraphProblem(
                    f"Parameter “{name}” has the name of image input “{fields[name]}”’s "
                    "upload field; rename one of them."
                )
            )
    return problems


def _range_problems(graph: dict, parameters: list, object_info: dict) -> list[GraphProblem]:
    """A parameter must not allow values its target input would reject."""
    problems: list[GraphProblem] = []
    for param in parameters:
        if not isinstance(param, dict):
            continue
        node = graph.get(str(param.get("node_id")))
        if not isinstance(node, dict) or not isinstance(node.get("class_type"), str):
            continue
        class_type, name = node["class_type"], param.get("node_input")
        spec = input_spec(object_info, class_type, name) if isinstance(name, str) else None
        if not spec:
            continue
        label = param.get("name")
        ptype = param.get("type")
        opts = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
        if ptype in ("number", "integer", "seed") and spec[0] in ("INT", "FLOAT"):
            low, high = opts.get("min"), opts.get("max")
            pmin, pmax = parameter_bounds(param)
            if isinstance(low, int | float) and (not _is_number(pmin) or pmin < low):
                problems.append(
                    GraphProblem(
                        f"parameter “{label}” needs a minimum of at least {low}.",
                        str(param.get("node_id")),
                        class_type,
                        name,
                    )
                )
            if isinstance(high, int | float) and (not _is_number(pmax) or pmax > high):
                problems.append(
                    GraphProblem(
                        f"parameter “{label}” needs a maximum of at most {high}.",
                        str(param.get("node_id")),
                        class_type,
                        name,
                    )
                )
        options = spec_options(spec)
        if (
            ptype == "choice"
            and options is not None
            and not is_live_file_list(class_type, name, spec)
        ):
            for choice in param.get("choices") or []:
                value = choice.get("value") if isinstance(choice, dict) else choice
                if value not in options:
                    problems.append(
                        GraphProblem(
                            f"parameter “{label}” offers “{value}”, which this input does "
                            "not accept.",
                            str(param.get("node_id")),
                            class_type,
                            name,
                        )
                    )
    return problems


def _shape_problems(param: dict) -> list[str]:
    ptype = param.get("type")
    if ptype not in TYPES:
        return [f"the type must be one of {', '.join(TYPES)}."]
    problems = []
    unknown = sorted(set(param) - KNOWN_KEYS)
    if unknown:
        problems.append(f"unknown key(s) {', '.join(unknown)}.")
    label = param.get("label", "")
    if not isinstance(label, str) or len(label) > LABEL_MAX_LENGTH:
        problems.append(f"the label must be text of at most {LABEL_MAX_LENGTH} characters.")
    help_text = param.get("help", "")
    if not isinstance(help_text, str) or len(help_text) > HELP_MAX_LENGTH:
        problems.append(f"the help must be text of at most {HELP_MAX_LENGTH} characters.")
    if not isinstance(param.get("required", False), bool):
        problems.append("“required” must be true or false.")
    if ptype in ("number", "integer", "seed"):
        for key in ("min", "max", "step"):
            if key in param and not _is_number(param[key]):
                problems.append(f"“{key}” must be a number.")
        low, high = parameter_bounds(param)
        if _is_number(low) and _is_number(high) and low > high:
            problems.append("“min” is larger than “max”.")
        if "step" in param and _is_number(param["step"]) and param["step"] <= 0:
            problems.append("“step” must be positive.")
    if ptype == "text" and "max_length" in param:
        ml = param["max_length"]
        if not isinstance(ml, int) or isinstance(ml, bool) or not 1 <= ml <= TEXT_MAX_LENGTH:
            problems.append(f"“max_length” must be a whole number from 1 to {TEXT_MAX_LENGTH}.")
    if ptype == "choice":
        choices = param.get("choices")
        if not isinstance(choices, list) or not choices or len(choices) > MAX_CHOICES:
            problems.append(f"a choice needs a list of 1 to {MAX_CHOICES} “choices”.")
        else:
            values = []
            for choice in choices:
                value = choice.get("value") if isinstance(choice, dict) else choice
                if isinstance(choice, dict) and not isinstance(choice.get("label", ""), str):
                    problems.append("choice labels must be text.")
                if not isinstance(value, str | int | float) or (
                    isinstance(value, float) and not math.isfinite(value)
                ):
                    problems.append("choice values must be text or numbers.")
                values.append(value)
            if len({repr(v) for v in values}) != len(values):
                problems.append("the choices repeat a value.")
    elif "choices" in param:
        problems.append("only choice parameters take “choices”.")
    if "channel" in param and (ptype != "image" or param["channel"] not in MASK_CHANNELS):
        problems.append(
            f"“channel” is for image inputs of masks: one of {', '.join(MASK_CHANNELS)}."
        )
    if problems:
        return problems
    if "default" in param and param["default"] is not None and ptype != "image":
        try:
            parameter_clean(param, param["default"])
        except ValueError as exc:
            problems.append(f"the default is invalid: {exc}")
    return problems


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and not (isinstance(value, float) and not math.isfinite(value))
    )


# --- values -------------------------------------------------------------------


def parameter_clean(param: dict, value: Any) -> Any:
    """Check one value against its parameter and return it in its JSON type.

    Strings that spell a number are accepted for numeric types (multipart
    forms carry text); booleans are never numbers and lists never scalars.
    Raises ValueError with a sentence for the user."""
    ptype = param.get("type")
    if isinstance(value, list | dict | tuple | set):
        raise ValueError("Give a single value, not a list or an object.")
    if ptype == "text":
        if not isinstance(value, str):
            raise ValueError("Enter text.")
        limit = param.get("max_length", TEXT_MAX_LENGTH)
        if len(value) > limit:
            raise ValueError(f"Use at most {limit} characters.")
        return value
    if ptype == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise ValueError("Choose true or false.")
    if ptype in ("number", "integer", "seed"):
        number = _to_number(value, whole=ptype != "number")
        low, high = parameter_bounds(param)
        if _is_number(low) and number < low:
            raise ValueError(f"Use a value of at least {low}.")
        if _is_number(high) and number > high:
            raise ValueError(f"Use a value of at most {high}.")
        return number
    if ptype == "choice":
        for choice_value, _label in parameter_choices(param):
            if isinstance(value, bool) or isinstance(choice_value, bool):
                continue
            if value == choice_value or (isinstance(value, str) and value == str(choice_value)):
                return choice_value
        allowed = ", ".join(label for _v, label in parameter_choices(param))
        raise ValueError(f"Choose one of: {allowed}.")
    if ptype == "image":
        if not isinstance(value, str) or not value or len(value) > 255:
            raise ValueError("Give the name of an uploaded image.")
        return value
    raise ValueError("This parameter has an unknown type.")


def _to_number(value: Any, *, whole: bool) -> int | float:
    if isinstance(value, bool):
        raise ValueError("Enter a number, not true/false.")
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text) if re.fullmatch(r"[+-]?\d{1,20}", text) else float(text)
        except ValueError:
            raise ValueError("Enter a number.") from None
    if not isinstance(value, int | float) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        raise ValueError("Enter a number.")
    if whole:
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError("Enter a whole number.")
            value = int(value)
        return value
    return value


def parameters_resolve(*, parameters: list[dict], values: dict | None) -> dict[str, Any]:
    """Clean `values` against the schema: defaults filled in, empty seeds
    replaced by random ones.

    Returns {name: value} for every parameter that gets a value; image
    inputs are not values (see `graph_compile`'s `inputs`). Raises
    ParameterValuesError with every per-field problem (unknown names, a value
    for an image input, missing required values, wrong types, out of range)."""
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ParameterValuesError({"__all__": ["Parameters must be an object of name: value."]})
    errors: dict[str, list[str]] = {}
    known = {p["name"]: p for p in parameters if p["type"] != "image"}
    images = {p["name"] for p in parameters if p["type"] == "image"}
    for name in values:
        if name in images:
            errors.setdefault(name, []).append(
                "This is an image input: upload a file for it instead of giving a value."
            )
        elif name not in known:
            errors.setdefault(str(name)[:60], []).append(
                "Unknown parameter. This workflow does not expose it."
            )
    resolved: dict[str, Any] = {}
    for name, param in known.items():
        ptype = param["type"]
        raw = values.get(name)
        if raw is None or (raw == "" and ptype != "text"):
            if ptype == "seed" and param.get("default") in (None, ""):
                low, high = parameter_bounds(param)
                low = int(low) if _is_number(low) else SEED_MIN
                high = min(int(high) if _is_number(high) else SEED_MAX, RANDOM_SEED_LIMIT - 1)
                resolved[name] = low + secrets.randbelow(max(high - low, 0) + 1)
                continue
            if param.get("default") is not None:
                raw = param["default"]
            elif param.get("required"):
                errors.setdefault(name, []).append("This field is required.")
                continue
            else:
                continue
        if ptype == "text" and raw == "" and param.get("required"):
            errors.setdefault(name, []).append("This field is required.")
            continue
        try:
            resolved[name] = parameter_clean(param, raw)
        except ValueError as exc:
            errors.setdefault(name, []).append(str(exc))
    if errors:
        raise ParameterValuesError(errors)
    return resolved


def graph_compile(
    *,
    graph: dict,
    parameters: list[dict],
    values: dict | None,
    inputs: dict[str, str] | None = None,
) -> dict:
    """A deep copy of `graph` with the values and input files written in.

    `inputs` maps image input names (see `workflow_image_inputs`) to the
    uploaded file's name on the ComfyUI server (`subfolder/name`); each goes
    into its node's `image` input, and a mask input's `channel` into the
    node. An optional input left out keeps the graph's own value. A caller
    with one upload for the whole run builds `inputs` with
    `image_inputs_for_upload`.

    The given graph is never modified. Raises ParameterValuesError with every
    problem at once, keyed by parameter or input name: bad values, unknown
    input names, missing required inputs."""
    errors: dict[str, list[str]] = {}
    try:
        resolved = parameters_resolve(parameters=parameters, values=values)
    except ParameterValuesError as exc:
        errors.update(exc.errors)
        resolved = {}
    files = _inputs_clean(workflow_image_inputs(parameters), inputs, errors)
    if errors:
        raise ParameterValuesError(errors)
    compiled = copy.deepcopy(graph)
    for param in parameters:
        if param["name"] in resolved:
            node = compiled[str(param["node_id"])]
            node["inputs"][param["node_input"]] = resolved[param["name"]]
    for image_input in workflow_image_inputs(parameters):
        node_inputs = compiled[image_input.node_id]["inputs"]
        if image_input.name in files:
            node_inputs[image_input.node_input] = files[image_input.name]
        if image_input.channel is not None:
            node_inputs["channel"] = image_input.channel
    return compiled


def _inputs_clean(
    image_inputs: list[ImageInput], inputs: Any, errors: dict[str, list[str]]
) -> dict[str, str]:
    if inputs is None:
        inputs = {}
    if not isinstance(inputs, dict):
        errors.setdefault("__all__", []).append("Inputs must be an object of name: file name.")
        return {}
    by_name = {i.name: i for i in image_inputs}
    offered = ", ".join(by_name) or "none"
    files: dict[str, str] = {}
    for name, filename in inputs.items():
        image_input = by_name.get(name)
        if image_input is None:
            errors.setdefault(str(name)[:60], []).append(
                f"Unknown image input. This workflow's image inputs: {offered}."
            )
            continue
        try:
            files[name] = parameter_clean({"type": "image"}, filename)
        except ValueError as exc:
            errors.setdefault(name, []).append(str(exc))
    for image_input in image_inputs:
        if image_input.required and image_input.name not in inputs:
            errors.setdefault(image_input.name, []).append(
                f"Upload an image for “{image_input.label}”: this workflow needs it."
            )
    return files


# --- image inputs -------------------------------------------------------------


@dataclass(frozen=True)
class ImageInput:
    """One file a run uploads, as the schema describes it."""

    name: str
    label: str
    help: str
    required: bool
    node_id: str
    node_input: str
    channel: str | None  # a mask input: which channel of the file is the mask

    @property
    def form_field(self) -> str:
        return image_input_field(self.name)


def image_input_field(name: str) -> str:
    """The run form's upload field for image input `name` ("image" -> "input_image").

    Prefixed so an input can never share a field with a parameter."""
    return f"input_{name}"


def workflow_image_inputs(parameters: Any) -> list[ImageInput]:
    """The image inputs of a schema, in schema order (empty for text-to-image).

    Reads only well-formed `image` entries, so it is safe on a schema that is
    still being validated."""
    found: list[ImageInput] = []
    for param in parameters if isinstance(parameters, list) else []:
        if not isinstance(param, dict) or param.get("type") != "image":
            continue
        name, node_id = param.get("name"), param.get("node_id")
        if isinstance(node_id, int) and not isinstance(node_id, bool):
            node_id = str(node_id)
        if not isinstance(name, str) or not isinstance(node_id, str):
            continue
        label = param.get("label")
        channel = param.get("channel")
        found.append(
            ImageInput(
                name=name,
                label=label if isinstance(label, str) and label else _label_from_name(name),
                help=param.get("help") if isinstance(param.get("help"), str) else "",
                required=param.get("required", True) is not False,
                node_id=node_id,
                node_input=str(param.get("node_input") or "image"),
                channel=channel if channel in MASK_CHANNELS else None,
            )
        )
    return found


def image_inputs_for_upload(*, parameters: list[dict], filename: str) -> dict[str, str]:
    """`graph_compile`'s `inputs` for a run that brings one file (the web
    form, the API's `image`, a watched folder): the file goes to every
    required image input; optional ones keep their graph's file.

    For the usual single-input workflow that is {"image": filename}; a
    workflow without inputs gets {} (the file is not used)."""
    return {i.name: filename for i in workflow_image_inputs(parameters) if i.required}


def image_inputs_complete(*, graph: Any, parameters: Any) -> Any:
    """The schema with an image input for every LoadImage / LoadImageMask
    node that no parameter targets yet, appended in node order. Idempotent;
    returns `parameters` itself when nothing is missing or either is malformed
    (validation then says why).

    New inputs are required and named from the node's `_meta.title`
    (slugified: "Photo" -> `photo`) and labelled with it; a node without a
    title of its own, or whose name is taken, is `image_<node_id>`. The only
    input of a workflow is `image`, labelled "Input image". A mask input
    records its node's channel."""
    if not isinstance(graph, dict) or not isinstance(parameters, list):
        return parameters
    targeted = {
        (str(p.get("node_id")), p.get("node_input")) for p in parameters if isinstance(p, dict)
    }
    missing = [n for n in _image_node_ids(graph) if (n, "image") not in targeted]
    if not missing:
        return parameters
    taken = set(RESERVED_NAMES)
    taken.update(
        p["name"] for p in parameters if isinstance(p, dict) and isinstance(p.get("name"), str)
    )
    only = len(missing) == 1 and not workflow_image_inputs(parameters)
    added = []
    for node_id in missing:
        node = graph[node_id]
        title = _own_title(node)
        kind = "mask" if _is_mask(node) else "image"
        if only and "image" not in taken:
            name, label = "image", f"Input {kind}"
        else:
            name = _name_from_title(title)
            if not name or name in taken:
                slug = _slug(node_id)
                name = _unique(f"image_{slug}"[:50] if slug else "image", taken)
            label = title or f"{kind.capitalize()} {node_id}"
        taken.add(name)
        entry: dict[str, Any] = {
            "name": name,
            "type": "image",
            "label": label[:LABEL_MAX_LENGTH],
            "required": True,
            "node_id": node_id,
            "node_input": "image",
        }
        channel = node["inputs"].get("channel")
        # A schema that exposes the channel as a choice keeps it a choice.
        if _is_mask(node) and channel in MASK_CHANNELS and (node_id, "channel") not in targeted:
            entry["channel"] = channel
        added.append(entry)
    return [*parameters, *added]


# ComfyUI's own titles: an export carries them for every node nobody renamed.
_DEFAULT_TITLES = frozenset({"load image", "load image (as mask)"})


def _image_node_ids(graph: dict) -> list[str]:
    """Nodes that load an uploaded file, in node order (a linked `image` loads none)."""
    return sorted(
        (
            node_id
            for node_id, node in graph.items()
            if isinstance(node, dict)
            and node.get("class_type") in IMAGE_NODE_TYPES
            and isinstance(node.get("inputs"), dict)
            and "image" in node["inputs"]
            and not is_link(node["inputs"]["image"])
        ),
        key=node_sort_key,
    )


def _is_mask(node: dict) -> bool:
    return node.get("class_type") == MASK_NODE_TYPE


def _own_title(node: dict) -> str:
    meta = node.get("_meta") if isinstance(node.get("_meta"), dict) else {}
    title = meta.get("title")
    if not isinstance(title, str) or title.strip().lower() in _DEFAULT_TITLES:
        return ""
    return title.strip()


def _slug(text: str) -> str:
    return slugify(text).replace("-", "_").strip("_")


def _name_from_title(title: str) -> str:
    name = _slug(title)[:50].strip("_")
    return name if NAME_PATTERN.match(name) else ""


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        suffix = f"_{n}"
        candidate, n = name[: 50 - len(suffix)] + suffix, n + 1
    return candidate


def _label_from_name(name: str) -> str:
    return name.replace("_", " ").capitalize()


# --- API schema ---------------------------------------------------------------


def parameters_json_schema(parameters: list[dict]) -> dict:
    """JSON Schema (draft 2020-12) of the `parameters` object the API accepts.

    Image inputs are not values: the API takes their files as uploads, so
    they are listed apart, by name under "x-creator-image-parameters" and
    described under "x-creator-image-inputs" (name, title, required and, for
    a mask, its channel)."""
    properties: dict[str, dict] = {}
    required: list[str] = []
    images: list[str] = []
    for param in parameters:
        ptype, name = param["type"], param["name"]
        if ptype == "image":
            images.append(name)
            continue
        prop: dict[str, Any] = {"title": param.get("label") or name}
        if param.get("help"):
            prop["description"] = param["help"]
        if ptype == "text":
            prop["type"] = "string"
            prop["maxLength"] = param.get("max_length", TEXT_MAX_LENGTH)
        elif ptype in ("number", "integer", "seed"):
            prop["type"] = "number" if ptype == "number" else "integer"
            low, high = parameter_bounds(param)
            if _is_number(low):
                prop["minimum"] = low
            if _is_number(high):
                prop["maximum"] = high
            if ptype == "seed":
                prop["type"] = ["integer", "null"]
                prop["description"] = prop.get("description", "Leave out for a random seed.")
        elif ptype == "boolean":
            prop["type"] = "boolean"
        elif ptype == "choice":
            prop["enum"] = [value for value, _label in parameter_choices(param)]
            prop["x-enum-labels"] = [label for _value, label in parameter_choices(param)]
        if param.get("default") is not None:
            prop["default"] = param["default"]
        elif param.get("required") and ptype != "seed":
            required.append(name)
        properties[name] = prop
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    if images:
        schema["x-creator-image-parameters"] = images
        schema["x-creator-image-inputs"] = [
            {
                "name": i.name,
                "title": i.label,
                "required": i.required,
                **({"channel": i.channel} if i.channel else {}),
            }
            for i in workflow_image_inputs(parameters)
        ]
    return schema
