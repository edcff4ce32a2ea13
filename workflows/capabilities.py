"""What a graph needs from a ComfyUI server, and whether a server offers it.

A graph needs every node type it names and every model file its loaders name
(a checkpoint, a LoRA, an upscale model…). A server offers what its
`/object_info` lists: the node types are its keys, the model files the option
lists of its loaders' inputs. Those lists come in two shapes: classic nodes
give `[["a.safetensors", …], {…}]`, newer ones `["COMBO", {"options": […]}]`.

Real ComfyUI refuses an absent checkpoint at validation but accepts an absent
upscale model and fails only while running, so this check — before anything
is queued — is what keeps a job from spending credits on a server that cannot
run it. Plain Python, no Django: graph validation, routing and the admin use
it alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Loader inputs that name a model file, and the models folder each reads
# (as ComfyUI's `/models/<folder>` calls it). Taken from a real server's
# `/object_info` with no model installed: these are the inputs whose lists
# were empty, plus VAELoader (whose list always holds its built-in choices).
MODEL_INPUTS: dict[tuple[str, str], str] = {
    ("CheckpointLoader", "ckpt_name"): "checkpoints",
    ("CheckpointLoaderSimple", "ckpt_name"): "checkpoints",
    ("ImageOnlyCheckpointLoader", "ckpt_name"): "checkpoints",
    ("unCLIPCheckpointLoader", "ckpt_name"): "checkpoints",
    ("CreateHookModelAsLora", "ckpt_name"): "checkpoints",
    ("CreateHookModelAsLoraModelOnly", "ckpt_name"): "checkpoints",
    ("LoraLoader", "lora_name"): "loras",
    ("LoraLoaderModelOnly", "lora_name"): "loras",
    ("CreateHookLora", "lora_name"): "loras",
    ("CreateHookLoraModelOnly", "lora_name"): "loras",
    ("VAELoader", "vae_name"): "vae",
    ("CLIPLoader", "clip_name"): "text_encoders",
    ("DualCLIPLoader", "clip_name1"): "text_encoders",
    ("DualCLIPLoader", "clip_name2"): "text_encoders",
    ("TripleCLIPLoader", "clip_name1"): "text_encoders",
    ("TripleCLIPLoader", "clip_name2"): "text_encoders",
    ("TripleCLIPLoader", "clip_name3"): "text_encoders",
    ("QuadrupleCLIPLoader", "clip_name1"): "text_encoders",
    ("QuadrupleCLIPLoader", "clip_name2"): "text_encoders",
    ("QuadrupleCLIPLoader", "clip_name3"): "text_encoders",
    ("QuadrupleCLIPLoader", "clip_name4"): "text_encoders",
    ("CLIPVisionLoader", "clip_name"): "clip_vision",
    ("UNETLoader", "unet_name"): "diffusion_models",
    ("ControlNetLoader", "control_net_name"): "controlnet",
    ("DiffControlNetLoader", "control_net_name"): "controlnet",
    ("UpscaleModelLoader", "model_name"): "upscale_models",
    ("StyleModelLoader", "style_model_name"): "style_models",
    ("GLIGENLoader", "gligen_name"): "gligen",
    ("HypernetworkLoader", "hypernetwork_name"): "hypernetworks",
    ("PhotoMakerLoader", "photomaker_model_name"): "photomaker",
    ("ModelPatchLoader", "name"): "model_patches",
    ("DiffusersLoader", "model_path"): "diffusers",
}
# A custom node's loader is recognised by its name and the files it lists.
MODEL_EXTENSIONS = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".onnx", ".sft")


@dataclass(frozen=True)
class Requirements:
    """What one graph needs: node types, and model files as (folder, name)."""

    node_types: frozenset[str] = frozenset()
    models: frozenset[tuple[str, str]] = frozenset()

    def as_json(self) -> dict:
        return {
            "node_types": sorted(self.node_types),
            "models": [{"folder": f, "name": n} for f, n in sorted(self.models)],
        }


@dataclass
class Missing:
    """What a server (or every server together) lacks for a graph."""

    node_types: list[str] = field(default_factory=list)
    models: list[tuple[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.node_types or self.models)

    def names(self) -> list[str]:
        return [name for _, name in self.models] + self.node_types

    def sentence(self, where: str = "on any ComfyUI server") -> str:
        """A sentence naming what is missing, for people."""
        parts = []
        if self.models:
            names = ", ".join(name for _, name in self.models)
            verb = "is" if len(self.models) == 1 else "are"
            parts.append(f"{names} {verb} not installed {where}")
        if self.node_types:
            names = ", ".join(self.node_types)
            noun = "node type" if len(self.node_types) == 1 else "node types"
            parts.append(f"the {noun} {names} {'is' if len(self.node_types) == 1 else 'are'} "
                         f"not available {where}")  # fmt: skip
        text = "; ".join(parts)
        return text[:1].upper() + text[1:] + "."

    def as_json(self) -> dict:
        return {
            "node_types": list(self.node_types),
            "models": [{"folder": f, "name": n} for f, n in self.models],
        }


def _options(spec: Any) -> list[str] | None:
    """The option list of a COMBO input spec in either shape, else None."""
    if not isinstance(spec, list) or not spec:
        return None
    head = spec[0]
    if isinstance(head, list):
        return [str(v) for v in head]
    if head == "COMBO":
        extra = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
        options = extra.get("options")
        return [str(v) for v in options] if isinstance(options, list) else []
    return None


def _input_specs(node_info: Mapping) -> Iterable[tuple[str, Any]]:
    inputs = node_info.get("input") or {}
    for section in ("required", "optional"):
        yield from (inputs.get(section) or {}).items()


def model_folder(class_type: str, input_name: str, options: list[str] | None = None) -> str | None:
    """The models folder an input reads, or None when it names no model file."""
    folder = MODEL_INPUTS.get((class_type, input_name))
    if folder:
        return folder
    # A custom loader: a "…Loader" node whose list holds model files.
    if "Loader" in class_type and options and any(o.endswith(MODEL_EXTENSIONS) for o in options):
        return input_name
    return None


@dataclass
class Offer:
    """What one server's `/object_info` offers."""

    node_types: frozenset[str]
    # (class_type, input_name) -> the files that input lists.
    model_options: dict[tuple[str, str], frozenset[str]]

    def models(self) -> dict[str, list[str]]:
        """Installed model files by folder, for people (the admin)."""
        by_folder: dict[str, set[str]] = {}
        for (class_type, input_name), options in self.model_options.items():
            folder = model_folder(class_type, input_name, list(options)) or input_name
            by_folder.setdefault(folder, set()).update(
                o for o in options if o.endswith(MODEL_EXTENSIONS)
            )
        return {folder: sorted(names) for folder, names in sorted(by_folder.items()) if names}


def offer_from_object_info(object_info: Mapping | None) -> Offer:
    object_info = object_info or {}
    model_options: dict[tuple[str, str], frozenset[str]] = {}
    for class_type, node_info in object_info.items():
        if not isinstance(node_info, Mapping):
            continue
        for input_name, spec in _input_specs(node_info):
            options = _options(spec)
            if options is None:
                continue
            if model_folder(class_type, input_name, options):
                model_options[(class_type, input_name)] = frozenset(options)
    return Offer(node_types=frozenset(object_info), model_options=model_options)


def offer_union(offers: Iterable[Offer]) -> Offer:
    """Everything any of the servers offers (graph validation asks this)."""
    node_types: set[str] = set()
    model_options: dict[tuple[str, str], set[str]] = {}
    for offer in offers:
        node_types |= offer.node_types
        for key, options in offer.model_options.items():
            model_options.setdefault(key, set()).update(options)
    return Offer(
        node_types=frozenset(node_types),
        model_options={k: frozenset(v) for k, v in model_options.items()},
    )


def graph_requirements(graph: Mapping, offer: Offer | None = None) -> Requirements:
    """Node types and model files an API-format graph names.

    A model input is one of MODEL_INPUTS, or (for custom loaders) one the
    given offer lists model files for. Linked inputs (`["4", 0]`) name no file.
    """
    node_types: set[str] = set()
    models: set[tuple[str, str]] = set()
    known_custom = offer.model_options if offer is not None else {}
    for node in graph.values():
        if not isinstance(node, Mapping):
            continue
        class_type = node.get("class_type")
        if not isinstance(class_type, str):
            continue
        node_types.add(class_type)
        for input_name, value in (node.get("inputs") or {}).items():
            if not isinstance(value, str) or not value:
                continue
            folder = MODEL_INPUTS.get((class_type, input_name))
            if folder is None and (class_type, input_name) in known_custom:
                folder = model_folder(
                    class_type, input_name, list(known_custom[(class_type, input_name)])
                )
            if folder:
                models.add((folder, value))
    return Requirements(node_types=frozenset(node_types), models=frozenset(models))


def requirements_missing(graph: Mapping, offer: Offer) -> Missing:
    """What `offer` lacks to run `graph` (empty when it can run it)."""
    missing = Missing()
    for class_type in sorted(
        {n.get("class_type") for n in graph.values() if isinstance(n, Mapping)} - {None}
    ):
        if class_type not in offer.node_types:
            missing.node_types.append(class_type)
    seen: set[tuple[str, str]] = set()
    for node in graph.values():
        if not isinstance(node, Mapping) or node.get("class_type") not in offer.node_types:
            continue
        class_type = node["class_type"]
        for input_name, value in (node.get("inputs") or {}).items():
            if not isinstance(value, str):
                continue
            key = (class_type, input_name)
            folder = MODEL_INPUTS.get(key)
            if folder is None and key in offer.model_options:
                folder = model_folder(class_type, input_name, list(offer.model_options[key]))
            if folder is None:
                continue
            if (
                value not in offer.model_options.get(key, frozenset())
                and (folder, value) not in seen
            ):
                seen.add((folder, value))
                missing.models.append((folder, value))
    return missing
