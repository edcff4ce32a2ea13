"""The shipped templates (workflows/templates/) are valid against the recorded ComfyUI and
run end to end on the development server, driven by our own client."""

import io
import shlex

import pytest
from PIL import Image

from generations.comfyui_client import ComfyExecutionError, ComfyUIClient, ComfyValidationError
from tests.comfyui.helpers import REPO, png_bytes, template, template_models, templates
from tests.standins.comfyui.__main__ import arguments_parse
from tests.standins.comfyui.model_files import loader_folder, object_info_with_models
from tests.standins.comfyui.validation import PromptValidator
from workflows.parameters import (
    graph_compile,
    image_inputs_complete,
    workflow_image_inputs,
    workflow_problems,
)

SLUGS = ["sdxl_text", "inpaint", "upscale_4x"]


def compiled(slug, values=None, image=None, mask=None):
    """The template's graph with `values` and input files applied, as the
    engine queues it: each image loader is a named input of the schema."""
    entry = template(slug)
    parameters = image_inputs_complete(graph=entry["workflow_json"], parameters=entry["parameters"])
    names = {i.name for i in workflow_image_inputs(parameters)}
    files = {name: file for name, file in (("image", image), ("mask", mask)) if name in names}
    return graph_compile(
        graph=entry["workflow_json"], parameters=parameters, values=values or {}, inputs=files
    )


@pytest.fixture
def comfy_for(start_comfy_server):
    """A client of a fresh development server that has the template's models installed."""
    clients = []

    def connect(slug, **options):
        server = start_comfy_server(models=template_models(template(slug)), **options)
        client = ComfyUIClient(server.url, connect_timeout=2, silence_timeout=10)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()


def picture(comfy, result):
    [output] = result.outputs
    return Image.open(io.BytesIO(comfy.download(output)))


def test_the_manifest_lists_the_three_templates_like_the_presets():
    entries = templates()

    assert [entry["slug"] for entry in entries] == SLUGS
    categories = {entry["slug"]: entry["category"] for entry in entries}
    assert categories == {
        "sdxl_text": "text-to-image",
        "inpaint": "inpainting",
        "upscale_4x": "upscaling",
    }
    for entry in entries:
        assert entry["graph"] == f"{entry['slug']}.json"
        assert entry["name"] and entry["description"]
        assert entry["estimated_credits"] >= 1
        assert isinstance(entry["features"], dict)


@pytest.mark.parametrize("slug", SLUGS)
def test_each_template_names_exactly_the_model_files_its_loaders_load(slug):
    entry = template(slug)
    loaded = {
        (loader_folder(node["class_type"], name), value)
        for node in entry["workflow_json"].values()
        for name, value in node["inputs"].items()
        if loader_folder(node["class_type"], name)
    }
    assert loaded == {(model["folder"], model["name"]) for model in entry["models"]}


@pytest.mark.parametrize("slug", SLUGS)
def test_each_template_validates_against_the_recorded_object_info(slug):
    entry = template(slug)
    object_info = object_info_with_models(template_models(entry))

    parameters = image_inputs_complete(graph=entry["workflow_json"], parameters=entry["parameters"])
    problems = workflow_problems(
        graph=entry["workflow_json"], parameters=parameters, object_info=object_info
    )
    ok, error, outputs, node_errors = PromptValidator(object_info, lambda name: True).validate(
        compiled(slug, image="in.png", mask="mask.png")
    )

    assert problems == []
    assert (ok, error, node_errors) == (True, None, {})
    assert outputs == [
        n for n, node in entry["workflow_json"].items() if node["class_type"] == "SaveImage"
    ]


def test_without_their_models_the_checkpoint_templates_fail_validation_and_upscale_4x_does_not():
    validator = PromptValidator(object_info_with_models({}), lambda name: True)

    results = {
        slug: validator.validate(compiled(slug, image="in.png", mask="m.png")) for slug in SLUGS
    }

    for slug, checkpoint_node in (("sdxl_text", "4"), ("inpaint", "3")):
        ok, _, _, node_errors = results[slug]
        [error] = node_errors[checkpoint_node]["errors"]
        assert (ok, error["type"]) == (False, "value_not_in_list")
    # UpscaleModelLoader is a V3 node: ComfyUI does not check its list before running.
    assert results["upscale_4x"][0] is True


def test_sdxl_text_renders_a_1024_square_by_default(comfy_for):
    comfy = comfy_for("sdxl_text")
    seen = []

    result = comfy.run(compiled("sdxl_text"), on_progress=seen.append)

    image = picture(comfy, result)
    assert (image.format, image.mode, image.size) == ("PNG", "RGB", (1024, 1024))
    assert seen[-1].percent == 100


def test_sdxl_text_renders_the_asked_size(comfy_for):
    comfy = comfy_for("sdxl_text")
    values = {"prompt": "a red fox in snow", "width": 512, "height": 768, "steps": 4, "seed": 3}

    image = picture(comfy, comfy.run(compiled("sdxl_text", values)))

    assert image.size == (512, 768)


def test_sdxl_text_gives_the_same_bytes_for_the_same_seed_and_another_picture_for_another(
    comfy_for,
):
    comfy = comfy_for("sdxl_text")

    def png(seed):
        result = comfy.run(compiled("sdxl_text", {"seed": seed, "width": 512, "height": 512}))
        return comfy.download(result.outputs[0]), result.outputs[0].filename

    first, first_name = png(7)
    other, _ = png(8)
    again, again_name = png(7)  # A-B-A: ComfyUI's cache kept only B, so A runs again

    assert again_name != first_name
    assert again == first
    one, two = Image.open(io.BytesIO(first)), Image.open(io.BytesIO(other))
    assert one.size == two.size and one.tobytes() != two.tobytes()


def test_inpaint_repaints_the_masked_area_and_keeps_the_rest(comfy_for):
    comfy = comfy_for("inpaint")
    photo = Image.new("RGB", (640, 480), (30, 90, 160))
    mask = Image.new("RGB", (640, 480), (0, 0, 0))
    mask.paste((255, 255, 255), (200, 120, 440, 360))
    image = comfy.upload_image(png_bytes(photo), "photo.png", subfolder="jobs/inpaint")
    mask_name = comfy.upload_image(png_bytes(mask), "mask.png", subfolder="jobs/inpaint")

    result = comfy.run(compiled("inpaint", {"steps": 3, "seed": 1}, image=image, mask=mask_name))

    out = picture(comfy, result).convert("RGB")
    assert out.size == (640, 480)
    outside = [out.crop(box) for box in ((0, 0, 640, 120), (0, 360, 640, 480), (0, 0, 200, 480))]
    assert all(part.getcolors() == [(part.width * part.height, (30, 90, 160))] for part in outside)
    inside = out.crop((200, 120, 440, 360)).getcolors(240 * 240)
    assert len(inside) > 100


def test_upscale_4x_gives_four_times_the_input(comfy_for):
    comfy = comfy_for("upscale_4x")
    image = comfy.upload_image(
        png_bytes(Image.new("RGB", (120, 90), (200, 40, 40))), "in.png", subfolder="j"
    )

    result = comfy.run(compiled("upscale_4x", image=image))

    out = picture(comfy, result)
    assert out.size == (480, 360)
    assert out.convert("RGB").getpixel((240, 180)) == (200, 40, 40)


def test_a_server_without_the_checkpoint_refuses_sdxl_text(start_comfy_server):
    server = start_comfy_server(models={"upscale_models": ["4x-UltraSharp.pth"]})

    with ComfyUIClient(server.url) as comfy, pytest.raises(ComfyValidationError) as caught:
        comfy.run(compiled("sdxl_text"))

    assert caught.value.node_ids == ["4"]
    [error] = caught.value.node_errors["4"]["errors"]
    assert error["details"] == "ckpt_name: 'sd_xl_base_1.0.safetensors' not in []"
    assert server.history == {}  # nothing reached the queue


def test_a_server_without_the_upscale_model_accepts_upscale_4x_then_fails_running_it(
    start_comfy_server,
):
    server = start_comfy_server(models={"checkpoints": ["sd_xl_base_1.0.safetensors"]})

    with ComfyUIClient(server.url) as comfy, pytest.raises(ComfyExecutionError) as caught:
        image = comfy.upload_image(png_bytes(Image.new("RGB", (32, 32))), "in.png", subfolder="j")
        comfy.run(compiled("upscale_4x", image=image))

    err = caught.value
    assert (err.node_id, err.node_type, err.exception_type) == (
        "2",
        "UpscaleModelLoader",
        "FileNotFoundError",
    )
    assert err.exception_message == (
        "Model in folder 'upscale_models' with filename '4x-UltraSharp.pth' not found."
    )


def test_make_run_starts_the_dev_server_with_every_template_model():
    [line] = [
        line
        for line in (REPO / "Procfile.dev").read_text().splitlines()
        if line.startswith("comfyui:")
    ]
    command = shlex.split(line.removeprefix("comfyui:"))
    assert command[:3] == ["python", "-m", "tests.standins.comfyui"]

    installed = arguments_parse(command[3:]).models

    for entry in templates():
        for model in entry["models"]:
            assert model["name"] in installed.get(model["folder"], []), (entry["slug"], model)
