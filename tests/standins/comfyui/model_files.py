"""The development server's installed models, and how they show in `object_info`.

Nothing is installed for real: a model is a name the server pretends to have
in one of ComfyUI's model folders (`--models checkpoints=a.safetensors,b.safetensors
upscale_models=x.pth`). The names fill the loaders' option lists the way a real
server fills them from its `models/` directories, so validation and `/object_info`
behave as on a real server with those files.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

RECORDED = Path(__file__).parent / "recorded"

# `GET /models`, in the real server's order.
MODEL_FOLDERS = [
    "checkpoints", "configs", "loras", "vae", "text_encoders", "diffusion_models",
    "clip_vision", "style_models", "embeddings", "diffusers", "vae_approx", "controlnet",
    "gligen", "upscale_models", "custom_nodes", "hypernetworks", "photomaker", "classifiers",
    "model_patches", "audio_encoders",
]  # fmt: skip

# ComfyUI's legacy folder names, still accepted by its folder_paths.
FOLDER_ALIASES = {"clip": "text_encoders", "unet": "diffusion_models"}

# Which loader inputs list which folder. An input name maps for every node that
# has it; a (class, input) pair overrides that for nodes using a generic name.
INPUT_FOLDERS = {
    "ckpt_name": "checkpoints",
    "lora_name": "loras",
    "vae_name": "vae",
    "control_net_name": "controlnet",
    "clip_name": "text_encoders",
    "clip_name1": "text_encoders",
    "clip_name2": "text_encoders",
    "clip_name3": "text_encoders",
    "clip_name4": "text_encoders",
    "unet_name": "diffusion_models",
    "style_model_name": "style_models",
    "gligen_name": "gligen",
    "hypernetwork_name": "hypernetworks",
    "photomaker_model_name": "photomaker",
    "model_path": "diffusers",
}
NODE_INPUT_FOLDERS = {
    ("CLIPVisionLoader", "clip_name"): "clip_vision",
    ("UpscaleModelLoader", "model_name"): "upscale_models",
    ("ModelPatchLoader", "name"): "model_patches",
}
# Tiny VAEs VAELoader offers when both halves are in vae_approx.
TAESD_NAMES = ("taesd", "taesdxl", "taesd3", "taef1")


def models_normalise(models: Mapping[str, Iterable[str]] | None) -> dict[str, list[str]]:
    """{folder: sorted unique names}, legacy folder names mapped; ValueError on unknown ones."""
    result: dict[str, set[str]] = {}
    for folder, names in (models or {}).items():
        real = FOLDER_ALIASES.get(folder, folder)
        if real not in MODEL_FOLDERS:
            raise ValueError(
                f"unknown model folder {folder!r}; ComfyUI's are: {', '.join(MODEL_FOLDERS)}"
            )
        for name in names:
            if not name or name.startswith("/") or ".." in name.split("/"):
                raise ValueError(f"bad model file name {name!r} in {folder}")
            result.setdefault(real, set()).add(name)
    return {folder: sorted(names) for folder, names in result.items()}


def models_parse(specs: Iterable[str]) -> dict[str, list[str]]:
    """Parse `folder=a.safetensors,b.safetensors` items (the `--models` option)."""
    models: dict[str, list[str]] = {}
    for spec in specs:
        folder, sep, names = spec.partition("=")
        listed = [name.strip() for name in names.split(",") if name.strip()]
        if not sep or not folder.strip() or not listed:
            raise ValueError(f"expected folder=file[,file…], got {spec!r}")
        models.setdefault(folder.strip(), []).extend(listed)
    return models_normalise(models)


@cache
def _recorded_object_info() -> dict[str, Any]:
    return json.loads((RECORDED / "object_info_full.json").read_text())


def loader_folder(class_type: str, input_name: str) -> str | None:
    """The model folder a loader input lists (`ckpt_name` → checkpoints), or None."""
    return NODE_INPUT_FOLDERS.get((class_type, input_name)) or INPUT_FOLDERS.get(input_name)


def _options(class_type: str, input_name: str, models: dict[str, list[str]]) -> list[str]:
    folder = loader_folder(class_type, input_name)
    names = list(models.get(folder, []))
    if class_type == "VAELoader":
        approx = models.get("vae_approx", [])
        for taesd in TAESD_NAMES:
            halves = (f"{taesd}_encoder.", f"{taesd}_decoder.")
            if all(any(name.startswith(half) for name in approx) for half in halves):
                names.append(taesd)
        names.append("pixel_space")
    return names


def object_info_with_models(models: dict[str, list[str]]) -> dict[str, Any]:
    """The recorded full `object_info` (365 core nodes) with the model lists filled.

    Classic nodes list options as `[[...], {...}]`, V3-schema ones as
    `["COMBO", {"options": [...]}]`; both are filled. Nodes without model
    inputs are shared with the recording, so callers must not modify them."""
    info = dict(_recorded_object_info())
    for class_type, spec in info.items():
        filled = None
        for category in ("required", "optional"):
            for input_name, entry in (spec.get("input", {}).get(category) or {}).items():
                if loader_folder(class_type, input_name) is None:
                    continue
                if filled is None:
                    filled = copy.deepcopy(spec)
                target = filled["input"][category][input_name]
                options = _options(class_type, input_name, models)
                if entry[0] == "COMBO":
                    target[1]["options"] = options
                elif isinstance(entry[0], list):
                    target[0] = options
        if filled is not None:
            info[class_type] = filled
    return info


def upscale_factor(model_name: str) -> int:
    """The scale a model's name announces (`4x-UltraSharp`, `RealESRGAN_x4plus`); 4 if none."""
    match = re.search(r"(?:^|[^a-z0-9])(\d)x|x(\d)(?:[^0-9]|$)", model_name.lower())
    if match is None:
        return 4
    return int(match.group(1) or match.group(2))


def tiled_scale_steps(width: int, height: int, tile: int = 512, overlap: int = 32) -> int:
    """ComfyUI's progress steps for a tiled model upscale (one per tile)."""
    return math.ceil(height / (tile - overlap)) * math.ceil(width / (tile - overlap))
