"""Inputs, graphs and plain-HTTP helpers for the ComfyUI tests."""

import io
import json
import time
from pathlib import Path

import requests
from PIL import Image
from websockets.sync.client import connect

REPO = Path(__file__).resolve().parents[2]
PRESETS = REPO / "workflows" / "presets"
TEMPLATES = REPO / "workflows" / "templates"
SLOW_CHAIN = REPO / "tests" / "fixtures" / "comfyui" / "slow_chain.json"
PRESET_SIZES = {
    "portrait_pro": (1536, 1536),
    "product_glow": (1080, 1350),
    "cinematic": (1920, 1080),
}


def image_bytes(size=(64, 64), color=(180, 90, 40), fmt="JPEG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format=fmt)
    return buf.getvalue()


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def load_graph(path: Path, input_name: str) -> dict:
    graph = json.loads(path.read_text())
    graph["1"]["inputs"]["image"] = input_name
    return graph


def preset(name: str, input_name: str) -> dict:
    return load_graph(PRESETS / f"{name}.json", input_name)


def slow_chain(input_name: str) -> dict:
    return load_graph(SLOW_CHAIN, input_name)


def templates() -> list[dict]:
    """The shipped templates' manifest entries, each with its graph as `workflow_json`."""
    entries = json.loads((TEMPLATES / "templates.json").read_text())
    return [
        {**entry, "workflow_json": json.loads((TEMPLATES / entry["graph"]).read_text())}
        for entry in entries
    ]


def template(slug: str) -> dict:
    return next(entry for entry in templates() if entry["slug"] == slug)


def template_models(entry: dict) -> dict[str, list[str]]:
    """A template's `models` list as the server's `models=` argument."""
    models: dict[str, list[str]] = {}
    for model in entry["models"]:
        models.setdefault(model["folder"], []).append(model["name"])
    return models


def upload(server, data, name="in.jpg", **fields):
    files = {"image": (name, data, "image/jpeg")}
    return requests.post(f"{server.url}/upload/image", files=files, data=fields, timeout=10)


def run_prompt(server, graph, **body):
    """POST the graph and poll /history until it has finished; returns its entry."""
    response = requests.post(f"{server.url}/prompt", json={"prompt": graph, **body}, timeout=10)
    assert response.status_code == 200, response.text
    prompt_id = response.json()["prompt_id"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        entry = requests.get(f"{server.url}/history/{prompt_id}", timeout=10).json()
        if entry:
            return entry[prompt_id]
        time.sleep(0.02)
    raise AssertionError("prompt did not finish")


def run_watching(server, graph, client_id="watcher"):
    """Run the graph as client `client_id`; returns (history entry, its websocket messages)."""
    with connect(f"{server.ws_url}?clientId={client_id}", proxy=None, legacy=True) as ws:
        ws.recv(5)  # the greeting status
        body = {"prompt": graph, "client_id": client_id}
        response = requests.post(f"{server.url}/prompt", json=body, timeout=10)
        assert response.status_code == 200, response.text
        prompt_id = response.json()["prompt_id"]
        messages = []
        while True:
            raw = ws.recv(20)
            if isinstance(raw, bytes):
                continue
            message = json.loads(raw)
            messages.append(message)
            data = message["data"]
            finished = message["type"] == "executing" and data["node"] is None
            if finished and data.get("prompt_id") == prompt_id:
                break
    entry = requests.get(f"{server.url}/history/{prompt_id}", timeout=10).json()[prompt_id]
    return entry, messages


def output_images(server, entry) -> list[Image.Image]:
    """Every image the history entry lists, fetched over /view (frames not split)."""
    images = []
    for output in entry["outputs"].values():
        for image in output.get("images", []):
            view = requests.get(f"{server.url}/view", params=image, timeout=10)
            assert view.status_code == 200
            images.append(Image.open(io.BytesIO(view.content)))
    return images
