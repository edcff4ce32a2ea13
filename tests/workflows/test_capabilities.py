"""What a graph needs from a server, read from a real server's /object_info."""

import copy
import json
from pathlib import Path

import pytest

from workflows.capabilities import (
    graph_requirements,
    offer_from_object_info,
    offer_union,
    requirements_missing,
)

RECORDED = Path(__file__).parents[1] / "standins" / "comfyui" / "recorded"

SDXL = {
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl.safetensors"}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lighthouse", "clip": ["4", 1]}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["4", 2]}},
    "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "x"}},
}
UPSCALE = {
    "1": {"class_type": "LoadImage", "inputs": {"image": "in.png"}},
    "2": {"class_type": "UpscaleModelLoader", "inputs": {"model_name": "4x-UltraSharp.pth"}},
    "3": {
        "class_type": "ImageUpscaleWithModel",
        "inputs": {"upscale_model": ["2", 0], "image": ["1", 0]},
    },
    "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "up"}},
}  # fmt: skip


@pytest.fixture(scope="module")
def empty_server():
    """The real server's /object_info with no model file installed."""
    return json.loads((RECORDED / "object_info_full.json").read_text())


def _install(object_info, *, checkpoints=(), upscale_models=()):
    info = copy.deepcopy(object_info)
    info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0] = list(checkpoints)
    info["UpscaleModelLoader"]["input"]["required"]["model_name"][1]["options"] = list(
        upscale_models
    )
    return info


def test_it_names_node_types_and_model_files_a_graph_uses():
    needs = graph_requirements(SDXL)
    assert "KSampler" not in needs.node_types
    assert {"CheckpointLoaderSimple", "CLIPTextEncode", "SaveImage"} <= needs.node_types
    assert needs.models == {("checkpoints", "sd_xl.safetensors")}
    assert graph_requirements(UPSCALE).models == {("upscale_models", "4x-UltraSharp.pth")}


def test_an_absent_checkpoint_and_an_absent_upscale_model_are_both_missing(empty_server):
    offer = offer_from_object_info(empty_server)
    assert requirements_missing(SDXL, offer).models == [("checkpoints", "sd_xl.safetensors")]
    # Real ComfyUI accepts this one at validation and fails while running;
    # our check must catch it before anything is queued.
    missing = requirements_missing(UPSCALE, offer)
    assert missing.models == [("upscale_models", "4x-UltraSharp.pth")]
    assert missing.sentence() == "4x-UltraSharp.pth is not installed on any ComfyUI server."


def test_it_reads_both_shapes_of_model_lists(empty_server):
    offer = offer_from_object_info(
        _install(
            empty_server, checkpoints=["sd_xl.safetensors"], upscale_models=["4x-UltraSharp.pth"]
        )
    )
    assert not requirements_missing(SDXL, offer)
    assert not requirements_missing(UPSCALE, offer)
    assert offer.models()["checkpoints"] == ["sd_xl.safetensors"]
    assert offer.models()["upscale_models"] == ["4x-UltraSharp.pth"]


def test_the_union_of_two_servers_offers_what_either_has(empty_server):
    a = offer_from_object_info(_install(empty_server, checkpoints=["sd_xl.safetensors"]))
    b = offer_from_object_info(_install(empty_server, upscale_models=["4x-UltraSharp.pth"]))
    assert requirements_missing(UPSCALE, a)
    assert not requirements_missing(UPSCALE, offer_union([a, b]))
    assert not requirements_missing(SDXL, offer_union([a, b]))


def test_an_unknown_node_type_is_missing(empty_server):
    graph = {**SDXL, "10": {"class_type": "FaceDetailerPro", "inputs": {}}}
    missing = requirements_missing(graph, offer_from_object_info(empty_server))
    assert missing.node_types == ["FaceDetailerPro"]
    assert "FaceDetailerPro" in missing.sentence()
