"""The client runs each preset end to end against the development server."""

import io

import pytest
from PIL import Image

from tests.comfyui.helpers import PRESET_SIZES, image_bytes, preset


@pytest.mark.parametrize("name", sorted(PRESET_SIZES))
def test_it_runs_a_preset_and_downloads_a_real_png(comfy, name):
    # portrait_pro scales by 1.5 (1024² in, 1536² out); the others resize to a fixed canvas.
    size = (1024, 1024) if name == "portrait_pro" else (96, 64)
    image = comfy.upload_image(image_bytes(size), "input.jpg", subfolder="jobs/job_1")
    assert image == "jobs/job_1/input.jpg"
    seen = []

    result = comfy.run(preset(name, image), prompt_id=f"job-{name}", on_progress=seen.append)

    assert result.prompt_id == f"job-{name}"
    [output] = result.outputs
    assert output.type == "output"
    assert output.filename == f"{name}_00001_.png"
    png = Image.open(io.BytesIO(comfy.download(output)))
    assert png.format == "PNG"
    assert png.size == PRESET_SIZES[name]
    assert "prompt" in png.text  # SaveImage embeds the graph, like ComfyUI
    percents = [p.percent for p in seen]
    assert percents == sorted(percents)
    assert percents[-1] == 100
    assert seen[-1].total_nodes == len(preset(name, image))


def test_outputs_and_streamed_download_agree_with_the_run(comfy):
    image = comfy.upload_image(image_bytes(), "in.png", subfolder="jobs/job_2")
    result = comfy.run(preset("portrait_pro", image), prompt_id="job-2")

    assert comfy.outputs("job-2") == result.outputs
    buf = io.BytesIO()
    written = comfy.download_to(result.outputs[0], buf)
    assert written == len(buf.getvalue()) == len(comfy.download(result.outputs[0]))
    assert comfy.history("job-2")["status"]["status_str"] == "success"


def test_an_identical_resubmission_is_cached_but_still_downloadable(comfy, comfy_server):
    image = comfy.upload_image(image_bytes(), "in.jpg", subfolder="jobs/job_3")
    first = comfy.run(preset("portrait_pro", image), prompt_id="first")
    files_before = sorted(p.name for p in comfy_server.output_dir.iterdir())
    seen = []

    again = comfy.run(preset("portrait_pro", image), prompt_id="again", on_progress=seen.append)

    assert sorted(again.cached_nodes) == sorted(preset("portrait_pro", image))
    assert again.outputs == first.outputs  # same file, nothing new written
    assert sorted(p.name for p in comfy_server.output_dir.iterdir()) == files_before
    assert Image.open(io.BytesIO(comfy.download(again.outputs[0]))).size == (96, 96)
    assert seen[-1].percent == 100


def test_server_helpers_answer(comfy):
    assert comfy.queue_depth() == 0
    assert "LoadImage" in comfy.object_info()
    assert comfy.system_stats()["system"]["comfyui_version"]
    assert comfy.history("unknown") is None
