"""Exposed parameters: the schema a workflow shows its users, and the only
code that writes values into a graph.

A schema is a JSON list of parameters::

    {"name": "softening", "type": "number", "label": "Skin softening",
     "help": "...", "default": 0.35, "min": 0, "max": 1, "step": 0.01,
     "required": false, "node_id": "3", "node_input": "blend_factor"}

Types: text, number, integer, boolean, choice (with "choices": a list of
values or of {"value", "label"}), seed (a random one when left empty) and
image (receives the uploaded input's file name).

The schema drives the dashboard form (`workflows.forms.parameters_form`),
the API's input schema (`parameters_json_schema`) and the run-time copy of
the graph (`graph_compile`). Values are checked per field; every problem is reported
together in one `ParameterValuesError`.
"""

from __future__ import annotations

import copy
import math
import re
import secrets
from typing import Any

from workflows.graph import (
    INPUT_NODE_ID,
    INPUT_NODE_INPUT,
    INPUT_PLACEHOLDER,
    GraphProblem,
    GraphValidationError,
    graph_problems,
    graph_unreadable,
    input_spec,
    is_link,
    is_live_file_list,
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
# The form field that carries the upload when the schema has no image parameter.
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
        key = (node_id, node_input)
        if key in targets:
            problems.append(
                GraphProblem(
                    f"parameters “{targets[key]}” and “{name}” both write to this input; "
                    "each input can be exposed once.",
                    node_id,
                    class_type,
                    node_input,
                )
            )
            continue
        targets[key] = name
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


def parameters_resolve(
    *, parameters: list[dict], values: dict | None, image_name: str | None = None
) -> dict[str, Any]:
    """Clean `values` against the schema: defaults filled in, empty seeds
    replaced by random ones, image parameters given `image_name`.

    Returns {name: value} for every parameter that gets a value. Raises
    ParameterValuesError with every per-field problem (unknown names,
    missing required values, wrong types, out of range)."""
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ParameterValuesError({"__all__": ["Parameters must be an object of name: value."]})
    errors: dict[str, list[str]] = {}
    known = {p["name"]: p for p in parameters}
    for name in values:
        if name not in known:
            errors.setdefault(str(name)[:60], []).append(
                "Unknown parameter. This workflow does not expose it."
            )
    resolved: dict[str, Any] = {}
    for name, param in known.items():
        ptype = param["type"]
        raw = values.get(name)
        if ptype == "image" and (raw is None or raw == ""):
            raw = image_name
        if raw is None or (raw == "" and ptype != "text"):
            if ptype == "seed" and param.get("default") in (None, ""):
                low, high = parameter_bounds(param)
                low = int(low) if _is_number(low) else SEED_MIN
                high = min(int(high) if _is_number(high) else SEED_MAX, RANDOM_SEED_LIMIT - 1)
                resolved[name] = low + secrets.randbelow(max(high - low, 0) + 1)
                continue
            if param.get("default") is not None and ptype != "image":
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
    image_name: str | None = None,
) -> dict:
    """A deep copy of `graph` with the values written into their target inputs.

    `image_name` (the uploaded input's name on the ComfyUI server) goes into
    every image parameter and replaces the INPUT_FILENAME placeholder of
    node "1". The given graph is never modified. Raises ParameterValuesError."""
    resolved = parameters_resolve(parameters=parameters, values=values, image_name=image_name)
    compiled = copy.deepcopy(graph)
    for param in parameters:
        if param["name"] in resolved:
            node = compiled[str(param["node_id"])]
            node["inputs"][param["node_input"]] = resolved[param["name"]]
    if image_name is not None:
        node = compiled.get(INPUT_NODE_ID)
        if isinstance(node, dict) and node.get("inputs", {}).get(INPUT_NODE_INPUT) == (
            INPUT_PLACEHOLDER
        ):
            node["inputs"][INPUT_NODE_INPUT] = image_name
    return compiled


def graph_needs_input_image(graph: dict, parameters: list[dict]) -> bool:
    """True when a run needs an uploaded image (an image parameter or the placeholder)."""
    if any(p.get("type") == "image" for p in parameters):
        return True
    node = graph.get(INPUT_NODE_ID)
    return (
        isinstance(node, dict)
        and (node.get("inputs") or {}).get(INPUT_NODE_INPUT) == INPUT_PLACEHOLDER
    )


# --- API schema ---------------------------------------------------------------


def parameters_json_schema(parameters: list[dict]) -> dict:
    """JSON Schema (draft 2020-12) of the `parameters` object the API accepts.

    Image parameters are not values: the API takes the file as an upload,
    so they are listed under "x-creator-image-parameters" instead."""
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
    return schema
