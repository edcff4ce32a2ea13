"""Failures come out of the client as typed, transient-or-permanent errors."""

import time

import pytest

from generations.comfyui_client import (
    ComfyExecutionError,
    ComfyTimeout,
    ComfyUIClient,
    ComfyUnreachable,
    ComfyValidationError,
)
from tests.comfyui.helpers import image_bytes, preset


def test_a_graph_the_server_refuses_is_a_permanent_validation_error(comfy):
    image = comfy.upload_image(image_bytes(), "in.jpg", subfolder="j")
    graph = preset("portrait_pro", image)
    graph["2"]["inputs"]["blur_radius"] = 99

    with pytest.raises(ComfyValidationError) as caught:
        comfy.run(graph, prompt_id="p1")

    err = caught.value
    assert err.transient is False
    assert err.node_ids == ["2"]
    assert err.node_errors["2"]["class_type"] == "ImageBlur"
    assert err.node_errors["2"]["errors"][0]["type"] == "value_bigger_than_max"
    assert "node 2 (ImageBlur)" in str(err)


def test_a_missing_input_file_is_a_validation_error_on_the_load_node(comfy):
    with pytest.raises(ComfyValidationError) as caught:
        comfy.queue_prompt(preset("portrait_pro", "nope.png"), prompt_id="p2")
    assert caught.value.node_errors["1"]["errors"][0]["type"] == "custom_validation_failed"


def test_a_partially_valid_graph_is_refused_and_never_runs(comfy, comfy_server):
    image = comfy.upload_image(image_bytes(), "in.jpg", subfolder="j")
    graph = preset("portrait_pro", image)
    graph["7"] = {
        "class_type": "ImageQuantize",
        "inputs": {"image": ["1", 0], "colors": 999, "dither": "none"},
    }
    graph["8"] = {
        "class_type": "SaveImage",
        "inputs": {"images": ["7", 0], "filename_prefix": "bad"},
    }
    comfy_server.knobs.node_delay = 0.2  # still pending or running when we take it back

    with pytest.raises(ComfyValidationError) as caught:
        comfy.queue_prompt(graph, prompt_id="partial")

    assert caught.value.node_ids == ["7"]
    deadline = time.monotonic() + 5
    while comfy.history("partial") is None and comfy.queue_depth() and time.monotonic() < deadline:
        time.sleep(0.05)
    entry = comfy.history("partial")
    assert entry is None or entry["status"]["status_str"] == "error"
    assert not list(comfy_server.output_dir.glob("portrait_pro_*"))


def test_a_node_failure_is_a_permanent_execution_error_with_the_node(comfy):
    image = comfy.upload_image(image_bytes(), "in.jpg", subfolder="j")
    graph = preset("portrait_pro", image)
    graph["3"]["inputs"]["blend_mode"] = "glow"  # V3 combo: accepted, fails at run time

    with pytest.raises(ComfyExecutionError) as caught:
        comfy.run(graph, prompt_id="glow")

    err = caught.value
    assert err.transient is False
    assert (err.node_id, err.node_type) == ("3", "ImageBlend")
    assert (err.exception_type, err.exception_message) == (
        "ValueError",
        "Unsupported blend mode: glow",
    )


def test_an_injected_node_failure_names_the_node(comfy, comfy_server):
    comfy_server.knobs.fail_node = "ImageSharpen"
    image = comfy.upload_image(image_bytes(), "in.jpg", subfolder="j")

    with pytest.raises(ComfyExecutionError) as caught:
        comfy.run(preset("product_glow", image), prompt_id="boom")

    assert (caught.value.node_id, caught.value.node_type) == ("4", "ImageSharpen")


def test_a_server_that_refuses_connections_is_unreachable(comfy_server):
    comfy_server.go_down("refuse")
    with ComfyUIClient(comfy_server.url, connect_timeout=1) as client:
        with pytest.raises(ComfyUnreachable) as caught:
            client.upload_image(image_bytes(), "in.jpg", subfolder="j")
        assert caught.value.transient is True
        with pytest.raises(ComfyUnreachable):
            client.connect()


def test_a_server_answering_503_is_unreachable(comfy, comfy_server):
    comfy_server.go_down("503")
    with pytest.raises(ComfyUnreachable):
        comfy.queue_depth()
    with pytest.raises(ComfyUnreachable):
        comfy.run(preset("portrait_pro", "x.jpg"), prompt_id="p")


def test_a_server_going_down_mid_run_is_unreachable(comfy_server):
    comfy_server.knobs.node_delay = 0.3
    with ComfyUIClient(comfy_server.url, connect_timeout=1, silence_timeout=5) as client:
        image = client.upload_image(image_bytes(), "in.jpg", subfolder="j")
        client.connect()
        client.queue_prompt(preset("portrait_pro", image), prompt_id="dies")
        comfy_server.go_down("refuse")
        with pytest.raises(ComfyUnreachable):
            client.follow("dies", total_nodes=6)


def test_silence_while_running_is_a_timeout(comfy_server):
    comfy_server.knobs.node_delays = {"ImageBlur": 5.0}
    with ComfyUIClient(comfy_server.url, connect_timeout=1, silence_timeout=0.3) as client:
        image = client.upload_image(image_bytes(), "in.jpg", subfolder="j")
        started = time.monotonic()
        with pytest.raises(ComfyTimeout) as caught:
            client.run(preset("portrait_pro", image), prompt_id="quiet")
        assert caught.value.transient is True
        assert time.monotonic() - started < 3
        client.interrupt("quiet")


def test_the_total_timeout_bounds_a_run(comfy_server):
    comfy_server.knobs.node_delay = 0.3
    with ComfyUIClient(comfy_server.url, silence_timeout=5, total_timeout=0.5) as client:
        image = client.upload_image(image_bytes(), "in.jpg", subfolder="j")
        with pytest.raises(ComfyTimeout):
            client.run(preset("portrait_pro", image), prompt_id="slow")
        client.interrupt("slow")
