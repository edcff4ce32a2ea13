"""Behaviour of the development ComfyUI server beyond the recorded transcripts."""

import io
import json
import socket
import subprocess
import sys
import time

import pytest
import requests
from PIL import Image
from websockets.sync.client import connect

from tests.comfyui.helpers import REPO, image_bytes, preset, run_prompt, upload


def test_output_counters_continue_per_folder_and_prefix_may_hold_a_subfolder(comfy_server):
    upload(comfy_server, image_bytes())
    graph = preset("product_glow", "in.jpg")
    (comfy_server.output_dir / "product_glow_00007_.png").write_bytes(b"x")

    first = run_prompt(comfy_server, graph)
    graph["6"]["inputs"]["filename_prefix"] = "jobs/job_9/product_glow"
    second = run_prompt(comfy_server, graph)

    assert first["outputs"]["6"]["images"] == [
        {"filename": "product_glow_00008_.png", "subfolder": "", "type": "output"}
    ]
    assert second["outputs"]["6"]["images"] == [
        {"filename": "product_glow_00001_.png", "subfolder": "jobs/job_9", "type": "output"}
    ]
    assert (comfy_server.output_dir / "jobs/job_9/product_glow_00001_.png").is_file()


def test_saved_pngs_carry_the_prompt_and_extra_pnginfo(comfy_server):
    upload(comfy_server, image_bytes())
    graph = preset("cinematic", "in.jpg")
    entry = run_prompt(comfy_server, graph, extra_data={"extra_pnginfo": {"workflow": {"a": 1}}})

    image = entry["outputs"]["8"]["images"][0]
    png = Image.open(comfy_server.output_dir / image["filename"])
    assert png.size == (1920, 1080)
    assert json.loads(png.text["prompt"])["8"]["class_type"] == "SaveImage"
    assert json.loads(png.text["workflow"]) == {"a": 1}


def test_an_unknown_dither_fails_at_run_time_not_at_validation(comfy_server):
    upload(comfy_server, image_bytes())
    graph = preset("cinematic", "in.jpg")
    graph["5"]["inputs"]["dither"] = "bogus"

    entry = run_prompt(comfy_server, graph)

    event, error = entry["status"]["messages"][-1]
    assert event == "execution_error"
    assert (error["node_id"], error["exception_type"]) == ("5", "UnboundLocalError")


def test_preview_images_go_to_temp(comfy_server):
    upload(comfy_server, image_bytes())
    graph = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "in.jpg"}},
        "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}},
    }
    [image] = run_prompt(comfy_server, graph)["outputs"]["2"]["images"]
    assert image["type"] == "temp"
    view = requests.get(f"{comfy_server.url}/view", params=image, timeout=10)
    assert view.status_code == 200
    assert Image.open(io.BytesIO(view.content)).size == (64, 64)


def test_a_prompt_without_client_id_only_broadcasts_progress_state(comfy_server):
    upload(comfy_server, image_bytes())
    with connect(f"{comfy_server.ws_url}?clientId=watcher", proxy=None, legacy=True) as ws:
        assert json.loads(ws.recv(5))["data"]["sid"] == "watcher"
        run_prompt(comfy_server, preset("portrait_pro", "in.jpg"))
        kinds = set()
        while True:
            try:
                kinds.add(json.loads(ws.recv(0.3))["type"])
            except TimeoutError:
                break
    assert kinds == {"status", "progress_state"}


def test_knobs_can_be_set_over_http(comfy_server):
    url = f"{comfy_server.url}/__standin__/knobs"
    answer = requests.post(url, json={"node_delay": 0.01, "fail_node": "ImageBlur"}, timeout=10)
    assert answer.json()["fail_node"] == "ImageBlur"
    assert comfy_server.knobs.node_delay == 0.01
    assert requests.post(url, json={"nope": 1}, timeout=10).status_code == 400

    requests.post(url, json={"down": "503"}, timeout=10)
    time.sleep(0.2)
    assert requests.get(f"{comfy_server.url}/system_stats", timeout=10).status_code == 503
    requests.post(url, json={"down": None}, timeout=10)
    assert requests.get(f"{comfy_server.url}/system_stats", timeout=10).status_code == 200


def test_it_comes_back_after_refusing_connections(comfy_server):
    comfy_server.go_down("refuse")
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{comfy_server.url}/system_stats", timeout=2)
    comfy_server.come_up()
    assert requests.get(f"{comfy_server.url}/system_stats", timeout=2).status_code == 200


def test_it_runs_as_a_module(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "tests.standins.comfyui", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--data-dir", str(tmp_path)]
    command += ["--models", "checkpoints=b.safetensors,a.safetensors", "upscale_models=4x.pth"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                stats = requests.get(f"http://127.0.0.1:{port}/system_stats", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, process.stdout.read1().decode()
                time.sleep(0.1)
        assert stats.json()["system"]["comfyui_version"] == "0.3.64"
        assert (tmp_path / "input").is_dir()
        models = requests.get(f"http://127.0.0.1:{port}/models/checkpoints", timeout=1)
        assert models.json() == ["a.safetensors", "b.safetensors"]
    finally:
        process.terminate()
        process.communicate(timeout=10)
