"""Inputs and graphs for the ComfyUI tests."""

import io
import json
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[2]
PRESETS = REPO / "workflows" / "presets"
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


def load_graph(path: Path, input_name: str) -> dict:
    graph = json.loads(path.read_text())
    graph["1"]["inputs"]["image"] = input_name
    return graph


def preset(name: str, input_name: str) -> dict:
    return load_graph(PRESETS / f"{name}.json", input_name)


def slow_chain(input_name: str) -> dict:
    return load_graph(SLOW_CHAIN, input_name)
