"""The development server's installed models: `object_info`, model routes, validation and
the `--models` option."""

import pytest
import requests

from tests.comfyui.helpers import run_watching
from tests.comfyui.replay import load
from tests.standins.comfyui.__main__ import arguments_parse
from tests.standins.comfyui.model_files import MODEL_FOLDERS, models_parse, upscale_factor

MODELS = {
    "checkpoints": ["sd_xl_base_1.0.safetensors", "dreamshaper_8.safetensors"],
    "loras": ["detail.safetensors"],
    "vae": ["sdxl_vae.safetensors"],
    "upscale_models": ["4x-UltraSharp.pth"],
    "clip": ["clip_l.safetensors"],  # ComfyUI's legacy name of text_encoders
}


def recorded_exchange(scenario, label):
    return next(r for r in load(scenario) if r["kind"] == "http" and r.get("label") == label)


def node_info(server, node_class):
    response = requests.get(f"{server.url}/object_info/{node_class}", timeout=10)
    return response.json()[node_class]["input"]["required"]


def test_object_info_lists_the_installed_models_in_both_option_shapes(start_comfy_server):
    server = start_comfy_server(models=MODELS)

    everything = requests.get(f"{server.url}/object_info", timeout=10).json()

    assert len(everything) == 365
    checkpoint = everything["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"]
    assert checkpoint == [
        ["dreamshaper_8.safetensors", "sd_xl_base_1.0.safetensors"],
        {"tooltip": "The name of the checkpoint (model) to load."},
    ]
    upscale = everything["UpscaleModelLoader"]["input"]["required"]["model_name"]
    assert upscale == ["COMBO", {"multiselect": False, "options": ["4x-UltraSharp.pth"]}]
    assert everything["LoraLoader"]["input"]["required"]["lora_name"][0] == ["detail.safetensors"]
    assert everything["VAELoader"]["input"]["required"]["vae_name"] == [
        ["sdxl_vae.safetensors", "pixel_space"]
    ]
    assert everything["CLIPLoader"]["input"]["required"]["clip_name"] == [["clip_l.safetensors"]]
    assert node_info(server, "CheckpointLoaderSimple")["ckpt_name"] == checkpoint
    assert node_info(server, "UpscaleModelLoader")["model_name"] == upscale


def test_a_fresh_server_without_models_describes_its_loaders_as_recorded(comfy_server):
    recorded = [
        record
        for record in load("m_missing_models")
        if record["kind"] == "http" and record["request"]["path"].startswith("/object_info/")
    ]
    assert [r["request"]["path"] for r in recorded] == [
        "/object_info/CheckpointLoaderSimple",
        "/object_info/LoadImageMask",
    ]
    for record in recorded:
        response = requests.get(f"{comfy_server.url}{record['request']['path']}", timeout=10)
        assert response.json() == record["response"]["json"]
    assert node_info(comfy_server, "UpscaleModelLoader")["model_name"][1]["options"] == []
    assert node_info(comfy_server, "VAELoader")["vae_name"] == [["pixel_space"]]


def test_the_image_loaders_list_the_input_files_live(comfy_server):
    # A fresh server has the one file a fresh ComfyUI checkout ships.
    assert node_info(comfy_server, "LoadImageMask")["image"][0] == ["example.png"]
    files = {"image": ("mask.png", b"\x89PNG fake", "image/png")}
    requests.post(f"{comfy_server.url}/upload/image", files=files, timeout=10)

    assert node_info(comfy_server, "LoadImageMask")["image"][0] == ["example.png", "mask.png"]
    assert node_info(comfy_server, "LoadImage")["image"][0] == ["example.png", "mask.png"]


def test_the_model_routes_list_the_installed_files(start_comfy_server):
    server = start_comfy_server(
        models={**MODELS, "embeddings": ["easynegative.safetensors", "style.pt"]}
    )

    def get(path):
        return requests.get(f"{server.url}{path}", timeout=10)

    assert get("/models").json() == MODEL_FOLDERS
    assert get("/api/models/checkpoints").json() == MODELS["checkpoints"][::-1]
    assert get("/models/text_encoders").json() == ["clip_l.safetensors"]
    assert get("/models/controlnet").json() == []
    assert get("/models/nope").status_code == 404
    assert get("/embeddings").json() == ["easynegative", "style"]


def test_two_servers_with_different_models_accept_different_graphs(start_comfy_server):
    alice = start_comfy_server(models={"checkpoints": ["a.safetensors"]})
    bob = start_comfy_server(models={"checkpoints": ["b.safetensors"]})
    graph = recorded_exchange("m_missing_models", "text-to-image with an absent checkpoint")
    graph = graph["request"]["json"]["prompt"]
    graph["4"]["inputs"]["ckpt_name"] = "a.safetensors"

    def post(server):
        return requests.post(f"{server.url}/prompt", json={"prompt": graph}, timeout=10)

    assert post(alice).status_code == 200
    refused = post(bob)
    assert refused.status_code == 400
    [error] = refused.json()["node_errors"]["4"]["errors"]
    assert error["details"] == "ckpt_name: 'a.safetensors' not in ['b.safetensors']"


@pytest.mark.parametrize(
    "label", ["text-to-image with an absent checkpoint", "absent checkpoint and LoRA"]
)
def test_an_absent_checkpoint_is_refused_word_for_word_as_recorded(comfy_server, label):
    recorded = recorded_exchange("m_missing_models", label)

    response = requests.post(
        f"{comfy_server.url}/prompt", json=recorded["request"]["json"], timeout=10
    )

    assert response.status_code == 400
    assert response.json() == recorded["response"]["json"]


def test_an_absent_upscale_model_is_accepted_then_fails_while_running_as_recorded(comfy_server):
    records = load("m_missing_models")
    request = next(r for r in records if r.get("label") == "absent upscale model")["request"]
    recorded = next(
        r["text"]["data"]
        for r in records
        if r["kind"] == "ws_recv" and r["text"]["type"] == "execution_error"
    )

    entry, messages = run_watching(comfy_server, request["json"]["prompt"])

    [error] = [m["data"] for m in messages if m["type"] == "execution_error"]
    same = ("node_id", "node_type", "executed", "exception_message", "exception_type")
    assert {k: error[k] for k in same} == {k: recorded[k] for k in same}
    assert error["current_inputs"] == recorded["current_inputs"]
    assert sorted(error["current_outputs"]) == sorted(recorded["current_outputs"])
    assert (entry["status"]["status_str"], entry["outputs"]) == ("error", {})
    assert "execution_success" not in [m["type"] for m in messages]


def test_models_are_parsed_from_folder_equals_comma_separated_files():
    assert models_parse(["checkpoints=b.safetensors,a.safetensors", "upscale_models=x.pth"]) == {
        "checkpoints": ["a.safetensors", "b.safetensors"],
        "upscale_models": ["x.pth"],
    }
    assert models_parse(["unet=flux.safetensors", "diffusion_models=sd3.safetensors"]) == {
        "diffusion_models": ["flux.safetensors", "sd3.safetensors"]
    }
    for bad in ("checkpoints", "checkpoints=", "=a.pth", "nope=a.pth", "loras=../x.pth"):
        with pytest.raises(ValueError):
            models_parse([bad])


def test_the_models_option_can_be_given_once_or_repeated(capsys):
    once = arguments_parse(["--models", "checkpoints=a.safetensors", "loras=l.safetensors"])
    repeated = arguments_parse(
        ["--models", "checkpoints=a.safetensors", "--port", "9", "--models", "loras=l.safetensors"]
    )

    assert (
        once.models
        == repeated.models
        == {
            "checkpoints": ["a.safetensors"],
            "loras": ["l.safetensors"],
        }
    )
    assert arguments_parse([]).models == {}
    with pytest.raises(SystemExit):
        arguments_parse(["--models", "weights=a.safetensors"])
    assert "unknown model folder 'weights'" in capsys.readouterr().err


def test_upscale_factors_come_from_model_names():
    assert upscale_factor("4x-UltraSharp.pth") == 4
    assert upscale_factor("RealESRGAN_x4plus.pth") == 4
    assert upscale_factor("random_compact_x2.safetensors") == 2
    assert upscale_factor("2x_NMKD-Siax.pth") == 2
    assert upscale_factor("sharp.pth") == 4
