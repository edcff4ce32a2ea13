"""Validation of ComfyUI graphs in API format.

An API-format graph is a JSON object mapping node ids to
`{"class_type": str, "inputs": {name: value | [node_id, output_index]}}`.
Everything here is pure: no database, no network. `object_info` is the
`GET /object_info` answer of a ComfyUI server (the engine supplies a cached
one per server; tests use the recorded one); without it only the structure
is checked.

Every check collects all problems instead of stopping at the first, so a user
fixing an import sees the whole list at once.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from creator_site.textguard import UnstorableJSON, json_loads_strict

MAX_GRAPH_BYTES = 1024 * 1024
MAX_NODES = 500
MAX_DEPTH = 20
MAX_NODE_ID_LENGTH = 64
MAX_CLASS_TYPE_LENGTH = 200
MAX_STRING_VALUE_LENGTH = 20_000
MAX_TITLE_LENGTH = 200

# Output nodes known without object_info (the ones our presets and the
# ComfyUI core use to hand images back).
KNOWN_OUTPUT_NODES = frozenset({"SaveImage", "PreviewImage", "SaveImageWebsocket"})

UI_FORMAT_MESSAGE = (
    "This looks like a ComfyUI UI export (it has “nodes” and “links” lists). "
    "Creator needs the API format: in ComfyUI open Settings, enable “Dev mode” "
    "options, then use Workflow → Export (API) (or “Save (API Format)”) and "
    "import that file instead."
)


@dataclass(frozen=True)
class GraphProblem:
    """One thing wrong with a graph, located as precisely as possible."""

    message: str
    node_id: str | None = None
    class_type: str | None = None
    input_name: str | None = None

    def __str__(self) -> str:
        if self.node_id is None:
            return self.message
        where = f"Node {self.node_id}"
        if self.class_type:
            where += f" ({self.class_type})"
        if self.input_name:
            where += f", input “{self.input_name}”"
        return f"{where}: {self.message}"


class GraphValidationError(Exception):
    """The graph (or its parameter schema) is invalid; `problems` lists why."""

    def __init__(self, problems: list[GraphProblem]):
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))

    @property
    def messages(self) -> list[str]:
        return [str(p) for p in self.problems]


def json_depth(value: Any) -> int:
    """Nesting depth of a JSON value (a scalar is 0, `{}` is 1), iteratively."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            depth += 1
            stack.extend((v, depth) for v in item.values())
        elif isinstance(item, list):
            depth += 1
            stack.extend((v, depth) for v in item)
        deepest = max(deepest, depth)
    return deepest


def graph_parse(text: str | bytes) -> dict:
    """Parse pasted or uploaded JSON into a graph, enforcing the size limits.

    Raises GraphValidationError with one sentence for invalid JSON, a file
    over MAX_GRAPH_BYTES or nesting beyond MAX_DEPTH. The structure itself is
    checked by `graph_problems`."""
    if isinstance(text, bytes):
        if len(text) > MAX_GRAPH_BYTES:
            raise GraphValidationError([_too_big(len(text))])
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise GraphValidationError(
                [GraphProblem("The file is not UTF-8 text. Export the workflow as JSON.")]
            ) from exc
    if len(text.encode("utf-8")) > MAX_GRAPH_BYTES:
        raise GraphValidationError([_too_big(len(text.encode("utf-8")))])
    if not text.strip():
        raise GraphValidationError([GraphProblem("The workflow is empty. Paste its JSON.")])
    try:
        value = json_loads_strict(text)
    except RecursionError as exc:
        raise GraphValidationError([_too_deep()]) from exc
    except UnstorableJSON as exc:  # NaN/Infinity, or text PostgreSQL cannot store
        raise GraphValidationError([GraphProblem(str(exc))]) from exc
    except ValueError as exc:
        raise GraphValidationError(
            [GraphProblem(f"This is not valid JSON ({exc}). Check that you copied all of it.")]
        ) from exc
    if json_depth(value) > MAX_DEPTH:
        raise GraphValidationError([_too_deep()])
    if not isinstance(value, dict):
        raise GraphValidationError(
            [GraphProblem("A workflow must be a JSON object mapping node ids to nodes.")]
        )
    return value


def graph_check_size(size: int) -> None:
    """Refuse a file of `size` bytes before reading it (GraphValidationError)."""
    if size > MAX_GRAPH_BYTES:
        raise GraphValidationError([_too_big(size)])


def _too_big(size: int) -> GraphProblem:
    return GraphProblem(
        f"The workflow is {size / 1024 / 1024:.1f} MB; Creator accepts graphs up to "
        f"{MAX_GRAPH_BYTES // 1024 // 1024} MB. Remove embedded data (images, notes) and "
        "export again."
    )


def _too_deep() -> GraphProblem:
    return GraphProblem(
        f"The workflow is nested more than {MAX_DEPTH} levels deep, which no ComfyUI node "
        "needs. Export it again in API format."
    )


def node_sort_key(node_id: str) -> tuple[int, int, str]:
    """Numeric ids in numeric order ("2" before "10"), then the others."""
    numeric = node_id.isascii() and node_id.isdigit()  # "²".isdigit() is True
    return (0, int(node_id), "") if numeric else (1, 0, node_id)


def is_link(value: Any) -> bool:
    """ComfyUI treats any list input as a link `[node_id, output_index]`."""
    return isinstance(value, list)


def output_node_ids(graph: dict, object_info: dict | None = None) -> list[str]:
    """Ids of the nodes that produce results (SaveImage, PreviewImage, ...)."""
    found = []
    for node_id, node in graph.items():
        if not isinstance(node, dict):
            continue
        class_type = node.get("class_type")
        if not isinstance(class_type, str):
            continue
        info = (object_info or {}).get(class_type)
        if class_type in KNOWN_OUTPUT_NODES or (
            isinstance(info, dict) and info.get("output_node") is True
        ):
            found.append(node_id)
    return found


def graph_unreadable(graph: Any) -> GraphProblem | None:
    """Why `graph` cannot be checked node by node at all (not an object, a
    UI export, too big, too deep...), or None when it can."""
    if not isinstance(graph, dict):
        return GraphProblem("A workflow must be a JSON object mapping node ids to nodes.")
    if isinstance(graph.get("nodes"), list) and "links" in graph:
        return GraphProblem(UI_FORMAT_MESSAGE)
    if isinstance(graph.get("prompt"), dict) and len(graph) <= 6:
        return GraphProblem(
            "This looks like a /prompt request body. Import only the value of its "
            "“prompt” key (the API-format graph)."
        )
    if not graph:
        return GraphProblem("The workflow has no nodes.")
    if len(graph) > MAX_NODES:
        return GraphProblem(
            f"The workflow has {len(graph):,} nodes; Creator accepts at most {MAX_NODES}."
        )
    if json_depth(graph) > MAX_DEPTH:
        return _too_deep()
    try:
        size = len(json.dumps(graph, allow_nan=False).encode("utf-8"))
    except (TypeError, ValueError):
        return GraphProblem("The workflow contains values that are not plain JSON.")
    if size > MAX_GRAPH_BYTES:
        return _too_big(size)
    return None


def graph_problems(graph: Any, *, object_info: dict | None = None) -> list[GraphProblem]:
    """Every problem with `graph` itself (its parameter schema is checked by
    `workflows.parameters.workflow_problems`).

    An empty list means the graph can be queued on a server described by
    `object_info` (or, without it, is structurally sound)."""
    unreadable = graph_unreadable(graph)
    if unreadable is not None:
        return [unreadable]

    problems: list[GraphProblem] = []
    for node_id, node in graph.items():
        problems.extend(_node_problems(graph, node_id, node, object_info))

    if not output_node_ids(graph, object_info):
        problems.append(
            GraphProblem(
                "The workflow has no output node, so it would produce nothing. Add a "
                "SaveImage (or PreviewImage) node at the end."
            )
        )
    if not problems:
        problems.extend(_cycle_problems(graph))
    return problems


def graph_validate(graph: Any, *, object_info: dict | None = None) -> None:
    """Raise GraphValidationError listing every problem, or return None."""
    problems = graph_problems(graph, object_info=object_info)
    if problems:
        raise GraphValidationError(problems)


def _node_problems(
    graph: dict, node_id: str, node: Any, object_info: dict | None
) -> list[GraphProblem]:
    if len(node_id) > MAX_NODE_ID_LENGTH:
        return [GraphProblem(f"Node ids can be at most {MAX_NODE_ID_LENGTH} characters.")]
    if not isinstance(node, dict):
        return [GraphProblem("must be an object with “class_type” and “inputs”.", node_id)]
    class_type = node.get("class_type")
    if not isinstance(class_type, str) or not class_type.strip():
        return [GraphProblem("has no “class_type” (the ComfyUI node type).", node_id)]
    if len(class_type) > MAX_CLASS_TYPE_LENGTH:
        return [GraphProblem("has an overlong “class_type”.", node_id)]
    inputs = node.get("inputs")
    if not isinstance(inputs, dict):
        return [GraphProblem("has no “inputs” object.", node_id, class_type)]

    problems: list[GraphProblem] = []
    meta = node.get("_meta")
    if meta is not None and (
        not isinstance(meta, dict)
        or not isinstance(meta.get("title", ""), str)
        or len(meta.get("title", "")) > MAX_TITLE_LENGTH
    ):
        problems.append(
            GraphProblem(
                f"its “_meta” title must be text of at most {MAX_TITLE_LENGTH} characters.",
                node_id,
                class_type,
            )
        )
    info = None
    if object_info is not None:
        info = object_info.get(class_type)
        if not isinstance(info, dict):
            problems.append(
                GraphProblem(
                    "this node type is not installed on the ComfyUI servers. Install the "
                    "custom node that provides it or replace the node.",
                    node_id,
                    class_type,
                )
            )
    specs = _input_specs(info) if info else {}

    for name, value in inputs.items():
        spec = specs.get(name)
        if is_link(value):
            problems.extend(
                _link_problems(graph, node_id, class_type, name, value, spec, object_info)
            )
        else:
            problems.extend(_value_problems(node_id, class_type, name, value, spec))

    if info:
        required = (info.get("input") or {}).get("required") or {}
        for name in required:
            if name not in inputs:
                problems.append(GraphProblem("is required but missing.", node_id, class_type, name))
    return problems


def _input_specs(info: dict) -> dict[str, list]:
    specs: dict[str, list] = {}
    section = info.get("input") or {}
    for kind in ("required", "optional"):
        for name, spec in (section.get(kind) or {}).items():
            if isinstance(spec, list) and spec:
                specs[name] = spec
    return specs


def spec_options(spec: list | None) -> list | None:
    """The option list of a combo input, legacy `[[...]]` or V3 `["COMBO", {options}]`."""
    if not spec:
        return None
    kind = spec[0]
    if isinstance(kind, list):
        return kind
    if kind == "COMBO" and len(spec) > 1 and isinstance(spec[1], dict):
        options = spec[1].get("options")
        return options if isinstance(options, list) else None
    return None


def is_live_file_list(class_type: str, name: str, spec: list) -> bool:
    # LoadImage's option list is whatever happens to be in the server's input
    # folder right now; the engine uploads the file just before queueing.
    opts = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
    return (
        (class_type == "LoadImage" and name == "image")
        or bool(opts.get("image_upload"))
        or bool(opts.get("upload"))
    )


def _link_problems(
    graph: dict,
    node_id: str,
    class_type: str,
    name: str,
    value: list,
    spec: list | None,
    object_info: dict | None,
) -> list[GraphProblem]:
    def problem(message: str) -> list[GraphProblem]:
        return [GraphProblem(message, node_id, class_type, name)]

    if (
        len(value) != 2
        or not isinstance(value[0], str)
        or not isinstance(value[1], int)
        or isinstance(value[1], bool)
    ):
        # ComfyUI looks the source up by its string id, so ["3", 0], never [3, 0].
        return problem(
            'must be a value or a link ["node_id", output_index] (lists are read as links).'
        )
    source_id, output_index = str(value[0]), value[1]
    if source_id == node_id:
        return problem("links to its own node.")
    source = graph.get(source_id)
    if not isinstance(source, dict):
        return problem(f"links to node {source_id}, which is not in the workflow.")
    source_class = source.get("class_type")
    if output_index < 0:
        return problem(f"links to output {output_index} of node {source_id}, which does not exist.")
    source_info = (object_info or {}).get(source_class) if isinstance(source_class, str) else None
    if isinstance(source_info, dict) and isinstance(source_info.get("output"), list):
        outputs = source_info["output"]
        if output_index >= len(outputs):
            return problem(
                f"links to output {output_index} of node {source_id} ({source_class}), "
                f"which has only {len(outputs)} output(s)."
            )
        expected = spec[0] if spec else None
        produced = outputs[output_index]
        if (
            isinstance(expected, str)
            and isinstance(produced, str)
            and expected not in ("*", "COMBO")
            and produced != "*"
            and "," not in expected
            and "," not in produced
            and expected != produced
        ):
            return problem(
                f"expects {expected} but is linked to output {output_index} of node "
                f"{source_id} ({source_class}), which produces {produced}."
            )
    return []


def _value_problems(
    node_id: str, class_type: str, name: str, value: Any, spec: list | None
) -> list[GraphProblem]:
    def problem(message: str) -> list[GraphProblem]:
        return [GraphProblem(message, node_id, class_type, name)]

    if isinstance(value, dict):
        return problem("must be a plain value or a link, not an object.")
    if value is None:
        return problem("has no value (null).")
    if isinstance(value, float) and not math.isfinite(value):
        return problem("must be a finite number.")
    if isinstance(value, str) and len(value) > MAX_STRING_VALUE_LENGTH:
        return problem(f"is longer than {MAX_STRING_VALUE_LENGTH:,} characters.")
    if not spec:
        return []

    options = spec_options(spec)
    if options is not None:
        if is_live_file_list(class_type, name, spec):
            return []
        # True == 1 in Python; an option list of numbers must not accept booleans.
        if not any(o == value and isinstance(o, bool) == isinstance(value, bool) for o in options):
            shown = ", ".join(str(o) for o in options[:20])
            more = "…" if len(options) > 20 else ""
            return problem(f"“{value}” is not one of the allowed values ({shown}{more}).")
        return []

    kind = spec[0]
    opts = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
    if kind in ("INT", "FLOAT"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            word = "a whole number" if kind == "INT" else "a number"
            return problem(f"must be {word}, not {_describe(value)}.")
        if kind == "INT" and isinstance(value, float) and not value.is_integer():
            return problem(f"must be a whole number, not {value}.")
        low, high = opts.get("min"), opts.get("max")
        if isinstance(low, int | float) and value < low:
            return problem(f"{value} is below the minimum {low}.")
        if isinstance(high, int | float) and value > high:
            return problem(f"{value} is above the maximum {high}.")
        return []
    if kind == "BOOLEAN":
        if not isinstance(value, bool):
            return problem(f"must be true or false, not {_describe(value)}.")
        return []
    if kind == "STRING":
        return []
    if isinstance(kind, str) and kind.isupper():
        # IMAGE, LATENT, MODEL...: only another node's output can feed it.
        return problem(f"expects a link from another node's {kind} output, not a value.")
    return []


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return f"the text “{value[:40]}”"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _cycle_problems(graph: dict) -> list[GraphProblem]:
    # Iterative three-colour DFS over links; a graph of 500 nodes cannot blow the stack.
    state: dict[str, int] = {}
    for start in graph:
        if state.get(start):
            continue
        stack: list[tuple[str, list[str]]] = [(start, _link_sources(graph, start))]
        state[start] = 1
        while stack:
            current, pending = stack[-1]
            if not pending:
                state[current] = 2
                stack.pop()
                continue
            nxt = pending.pop()
            if state.get(nxt) == 1:
                class_type = graph[nxt].get("class_type")
                return [
                    GraphProblem(
                        "is part of a loop of links; ComfyUI graphs must flow one way.",
                        nxt,
                        class_type if isinstance(class_type, str) else None,
                    )
                ]
            if not state.get(nxt):
                state[nxt] = 1
                stack.append((nxt, _link_sources(graph, nxt)))
    return []


def _link_sources(graph: dict, node_id: str) -> list[str]:
    inputs = graph[node_id].get("inputs") or {}
    return [str(v[0]) for v in inputs.values() if is_link(v) and len(v) == 2 and str(v[0]) in graph]


def input_spec(object_info: dict, class_type: str, name: str) -> list | None:
    """The object_info spec of one input of a node type (None when unknown)."""
    info = object_info.get(class_type)
    return _input_specs(info).get(name) if isinstance(info, dict) else None
