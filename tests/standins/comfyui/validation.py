"""POST /prompt validation against the recorded object_info, with ComfyUI's error bodies.

Follows the order and shapes of the real server (0.3.64): class checks first
(`invalid_prompt`, `prompt_no_outputs`), then every output node is validated
recursively; a node's errors are reported once, with the outputs depending on it.
V3-schema COMBO inputs (`["COMBO", {...}]`) are not checked here, like upstream.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

Error = dict[str, Any]
Validated = dict[str, tuple[bool, list[Error], str]]
# Nodes whose `image` is checked by their own VALIDATE_INPUTS (the file must
# exist) instead of against their option list.
IMAGE_LOADERS = frozenset({"LoadImage", "LoadImageMask"})


def _input_info(spec: dict[str, Any], name: str) -> tuple[Any, str, dict[str, Any]] | None:
    for category in ("required", "optional"):
        entry = spec.get("input", {}).get(category, {}).get(name)
        if entry is not None:
            extra = entry[1] if len(entry) > 1 else {}
            return entry[0], category, extra
    return None


def _input_names(spec: dict[str, Any]) -> list[str]:
    order = spec.get("input_order", {})
    names = list(order.get("required", [])) + list(order.get("optional", []))
    return names or list(spec.get("input", {}).get("required", {}))


def _types_match(received: Any, expected: Any) -> bool:
    if not isinstance(expected, str) or not isinstance(received, str):
        return True  # a link into or out of a combo: upstream does not check it either
    if received == expected or "*" in (received, expected):
        return True
    return bool(set(received.split(",")) & set(expected.split(",")))


class PromptValidator:
    """Validates prompts against `object_info`; `file_exists` answers the image loaders' check."""

    def __init__(self, object_info: dict[str, Any], file_exists: Callable[[str], bool]):
        self.object_info = object_info
        self.file_exists = file_exists

    def _validate_inputs(self, prompt: dict, node_id: str, validated: Validated) -> tuple:
        if node_id in validated:
            return validated[node_id]
        node = prompt[node_id]
        spec = self.object_info[node["class_type"]]
        inputs = node.setdefault("inputs", {})
        errors: list[Error] = []
        valid = True
        custom_checked = {"image"} if node["class_type"] in IMAGE_LOADERS else set()
        for name in _input_names(spec):
            input_type, category, extra = _input_info(spec, name)
            if name not in inputs:
                if category == "required":
                    errors.append(
                        {
                            "type": "required_input_missing",
                            "message": "Required input is missing",
                            "details": f"{name}",
                            "extra_info": {"input_name": name},
                        }
                    )
                continue
            value = inputs[name]
            info = [input_type, extra]
            if isinstance(value, list):
                if len(value) != 2:
                    errors.append(
                        {
                            "type": "bad_linked_input",
                            "message": "Bad linked input, must be a length-2 list of "
                            "[node_id, slot_index]",
                            "details": f"{name}",
                            "extra_info": {
                                "input_name": name,
                                "input_config": info,
                                "received_value": value,
                            },
                        }
                    )
                    continue
                source_id = value[0]
                # A missing source raises KeyError here; the caller one level up
                # reports it, exactly like upstream's recursion does.
                source_type = prompt[source_id]["class_type"]
                received = self.object_info[source_type]["output"][value[1]]
                if not _types_match(received, input_type):
                    errors.append(
                        {
                            "type": "return_type_mismatch",
                            "message": "Return type mismatch between linked nodes",
                            "details": f"{name}, received_type({received}) mismatch "
                            f"input_type({input_type})",
                            "extra_info": {
                                "input_name": name,
                                "input_config": info,
                                "received_type": received,
                                "linked_node": value,
                            },
                        }
                    )
                    continue
                try:
                    result = self._validate_inputs(prompt, source_id, validated)
                    if result[0] is False:
                        valid = False
                        continue
                except Exception as ex:  # noqa: BLE001 - reported to the caller, as upstream
                    valid = False
                    validated[source_id] = (
                        False,
                        [
                            {
                                "type": "exception_during_inner_validation",
                                "message": "Exception when validating inner node",
                                "details": str(ex),
                                "extra_info": {
                                    "input_name": name,
                                    "input_config": info,
                                    "exception_message": str(ex),
                                    "exception_type": type(ex).__name__,
                                    "traceback": traceback.format_tb(ex.__traceback__),
                                    "linked_node": value,
                                },
                            }
                        ],
                        source_id,
                    )
                    continue
                continue
            try:
                if input_type == "INT":
                    value = int(value)
                elif input_type == "FLOAT":
                    value = float(value)
                elif input_type == "STRING":
                    value = str(value)
                elif input_type == "BOOLEAN":
                    value = bool(value)
                inputs[name] = value
            except Exception as ex:  # noqa: BLE001
                errors.append(
                    {
                        "type": "invalid_input_type",
                        "message": f"Failed to convert an input value to a {input_type} value",
                        "details": f"{name}, {value}, {ex}",
                        "extra_info": {
                            "input_name": name,
                            "input_config": info,
                            "received_value": value,
                            "exception_message": str(ex),
                        },
                    }
                )
                continue
            if name in custom_checked:
                continue
            if "min" in extra and value < extra["min"]:
                errors.append(
                    {
                        "type": "value_smaller_than_min",
                        "message": f"Value {value} smaller than min of {extra['min']}",
                        "details": f"{name}",
                        "extra_info": {
                            "input_name": name,
                            "input_config": info,
                            "received_value": value,
                        },
                    }
                )
                continue
            if "max" in extra and value > extra["max"]:
                errors.append(
                    {
                        "type": "value_bigger_than_max",
                        "message": f"Value {value} bigger than max of {extra['max']}",
                        "details": f"{name}",
                        "extra_info": {
                            "input_name": name,
                            "input_config": info,
                            "received_value": value,
                        },
                    }
                )
                continue
            if isinstance(input_type, list) and value not in input_type:
                too_long = len(input_type) > 20
                listed = f"(list of length {len(input_type)})" if too_long else str(input_type)
                errors.append(
                    {
                        "type": "value_not_in_list",
                        "message": "Value not in list",
                        "details": f"{name}: '{value}' not in {listed}",
                        "extra_info": {
                            "input_name": name,
                            "input_config": None if too_long else info,
                            "received_value": value,
                        },
                    }
                )
                continue
        if node["class_type"] in IMAGE_LOADERS and "image" in inputs:
            image = inputs["image"]
            if not self.file_exists(image):
                errors.append(
                    {
                        "type": "custom_validation_failed",
                        "message": "Custom validation failed for node",
                        "details": f"image - Invalid image file: {image}",
                        "extra_info": {"input_name": "image"},
                    }
                )
        result = (False, errors, node_id) if errors or not valid else (True, [], node_id)
        validated[node_id] = result
        return result

    def validate(
        self, prompt: dict, partial_targets: list[str] | None = None
    ) -> tuple[bool, Error | None, list[str], dict[str, Any]]:
        """Return (ok, error, outputs_to_execute, node_errors) like upstream's validate_prompt."""
        outputs = []
        for node_id, node in prompt.items():
            if not isinstance(node, dict) or "class_type" not in node:
                return (
                    False,
                    {
                        "type": "invalid_prompt",
                        "message": "Cannot execute because a node is missing the class_type "
                        "property.",
                        "details": f"Node ID '#{node_id}'",
                        "extra_info": {},
                    },
                    [],
                    {},
                )
            spec = self.object_info.get(node["class_type"])
            if spec is None:
                return (
                    False,
                    {
                        "type": "invalid_prompt",
                        "message": f"Cannot execute because node {node['class_type']} does not "
                        "exist.",
                        "details": f"Node ID '#{node_id}'",
                        "extra_info": {},
                    },
                    [],
                    {},
                )
            if spec.get("output_node") and (partial_targets is None or node_id in partial_targets):
                outputs.append(node_id)
        if not outputs:
            return (
                False,
                {
                    "type": "prompt_no_outputs",
                    "message": "Prompt has no outputs",
                    "details": "",
                    "extra_info": {},
                },
                [],
                {},
            )
        good: list[str] = []
        own_errors: list[tuple[str, list[Error]]] = []
        node_errors: dict[str, Any] = {}
        validated: Validated = {}
        for output_id in outputs:
            try:
                ok, reasons, _ = self._validate_inputs(prompt, output_id, validated)
            except Exception as ex:  # noqa: BLE001
                ok = False
                reasons = [
                    {
                        "type": "exception_during_validation",
                        "message": "Exception when validating node",
                        "details": str(ex),
                        "extra_info": {
                            "exception_type": type(ex).__name__,
                            "traceback": traceback.format_tb(ex.__traceback__),
                        },
                    }
                ]
                validated[output_id] = (False, reasons, output_id)
            if ok:
                good.append(output_id)
                continue
            if reasons:
                own_errors.append((output_id, reasons))
            for node_id, (node_ok, node_reasons, _) in validated.items():
                # Nodes downstream of a failing node are invalid without reasons
                # of their own; only the failing node itself is reported.
                if node_ok is not True and node_reasons:
                    entry = node_errors.setdefault(
                        node_id,
                        {
                            "errors": node_reasons,
                            "dependent_outputs": [],
                            "class_type": prompt[node_id]["class_type"],
                        },
                    )
                    entry["dependent_outputs"].append(output_id)
        if not good:
            details = "\n".join(
                f"{error['message']}: {error['details']}"
                for _, errors in own_errors
                for error in errors
            )
            return (
                False,
                {
                    "type": "prompt_outputs_failed_validation",
                    "message": "Prompt outputs failed validation",
                    "details": details,
                    "extra_info": {},
                },
                [],
                node_errors,
            )
        return True, None, good, node_errors
