"""The development server's stand-in sampling, mask, upscale and animation nodes give
real outputs."""

import threading
import time

import pytest
import requests
from PIL import Image, ImageChops

from tests.comfyui.helpers import (
    image_bytes,
    output_images,
    png_bytes,
    run_prompt,
    run_watching,
    upload,
)
from tests.comfyui.replay import load
from tests.standins.comfyui.sampling import render

CHECKPOINT = "sd_xl_base_1.0.safetensors"


@pytest.fixture
def server(start_comfy_server):
    return start_comfy_server(
        models={
            "checkpoints": [CHECKPOINT],
            "upscale_models": ["4x-UltraSharp.pth", "RealESRGAN_x2plus.pth", "plain.pth"],
        }
    )


def text_to_image(seed=1, text="a lighthouse at dusk", width=320, height=200, batch=1, steps=4):
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": CHECKPOINT}},
        "5": {
            "class_type": "EmptyLatentImage",
            "inputs": {"width": width, "height": height, "batch_size": batch},
        },
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": text, "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
        "3": {
            "class_type": "KSampler",
            "inputs": {
                "seed": seed,
                "steps": steps,
                "cfg": 7.0,
                "sampler_name": "euler",
                "scheduler": "normal",
                "denoise": 1.0,
                "model": ["4", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["5", 0],
            },
        },
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "t2i"}},
    }


def node(class_type, **inputs):
    return {"class_type": class_type, "inputs": inputs}


def empty_image(width, height, color=0, batch=1):
    inputs = {"width": width, "height": height, "batch_size": batch, "color": color}
    return {"class_type": "EmptyImage", "inputs": inputs}


def save(source, prefix="out"):
    return {"class_type": "SaveImage", "inputs": {"images": [source, 0], "filename_prefix": prefix}}


def pixels(img):
    return img.convert("RGB").tobytes()


def test_a_text_to_image_graph_renders_pictures_of_the_latent_size(server):
    entry = run_prompt(server, text_to_image(width=320, height=200, batch=2))

    first, second = output_images(server, entry)
    assert (first.format, first.mode, first.size) == ("PNG", "RGB", (320, 200))
    assert second.size == (320, 200)
    assert pixels(first) != pixels(second)  # each image of a batch is its own picture
    assert len(first.getcolors(320 * 200)) > 100  # a picture, not a flat fill


def test_sizes_are_cut_to_whole_latent_cells_like_comfyui(server):
    [image] = output_images(server, run_prompt(server, text_to_image(width=100, height=60)))
    assert image.size == (96, 56)


def test_the_picture_is_a_function_of_seed_and_positive_prompt(server):
    def picture(**options):
        graph = text_to_image(**options)
        return pixels(output_images(server, run_prompt(server, graph))[0])

    lighthouse = picture(seed=1)
    assert picture(seed=2) != lighthouse
    assert picture(seed=1, text="a red fox in snow") != lighthouse
    assert picture(seed=1, steps=9) == lighthouse  # the cache is bypassed: steps differ
    assert pixels(render(1, "a lighthouse at dusk", (320, 200))) == lighthouse


def test_the_sampler_reports_one_progress_step_per_sampling_step(server):
    entry, messages = run_watching(server, text_to_image(steps=5))

    progress = [m["data"] for m in messages if m["type"] == "progress"]
    assert [(p["node"], p["value"], p["max"]) for p in progress] == [
        ("3", step, 5) for step in range(1, 6)
    ]
    last_state = [m["data"] for m in messages if m["type"] == "progress_state"][-1]
    sampler = last_state["nodes"]["3"]
    assert (sampler["value"], sampler["max"], sampler["state"]) == (5, 5, "finished")
    assert entry["status"]["status_str"] == "success"


def test_an_interrupt_lands_at_the_next_sampling_step(server):
    server.knobs.step_delay = 0.05

    def interrupt_after_first_step():
        deadline = time.monotonic() + 10
        while not server.running and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        requests.post(f"{server.url}/interrupt", timeout=10)

    thread = threading.Thread(target=interrupt_after_first_step)
    thread.start()
    entry, messages = run_watching(server, text_to_image(steps=200))
    thread.join()

    [interrupted] = [m["data"] for m in messages if m["type"] == "execution_interrupted"]
    assert (interrupted["node_id"], interrupted["node_type"]) == ("3", "KSampler")
    steps = [m["data"]["value"] for m in messages if m["type"] == "progress"]
    assert 0 < len(steps) < 200
    assert (entry["status"]["status_str"], entry["status"]["completed"]) == ("error", False)


def test_a_mask_is_read_from_the_chosen_channel(server):
    # R=200 G=100 B=50 A=64: each channel comes out as the mask's value.
    upload(server, png_bytes(Image.new("RGBA", (16, 16), (200, 100, 50, 64))), "rgba.png")

    def mask_value(channel):
        graph = {
            "1": empty_image(16, 16, color=0x000000),
            "2": empty_image(16, 16, color=0xFFFFFF),
            "3": node("LoadImageMask", image="rgba.png", channel=channel),
            "4": {
                "class_type": "ImageCompositeMasked",
                "inputs": {
                    "destination": ["1", 0],
                    "source": ["2", 0],
                    "x": 0,
                    "y": 0,
                    "resize_source": False,
                    "mask": ["3", 0],
                },
            },
            "5": save("4"),
        }
        [image] = output_images(server, run_prompt(server, graph))
        return image.getpixel((8, 8))

    assert mask_value("red") == (200, 200, 200)
    assert mask_value("green") == (100, 100, 100)
    assert mask_value("blue") == (50, 50, 50)
    assert mask_value("alpha") == (191, 191, 191)  # transparency is what gets painted


def test_a_composite_pastes_the_source_at_its_place(server):
    graph = {
        "1": empty_image(64, 48, color=0x000000),
        "2": empty_image(16, 16, color=0xFF0000),
        "3": {
            "class_type": "ImageCompositeMasked",
            "inputs": {
                "destination": ["1", 0],
                "source": ["2", 0],
                "x": 56,
                "y": 4,
                "resize_source": False,
            },
        },
        "4": save("3"),
    }
    [image] = output_images(server, run_prompt(server, graph))

    assert image.size == (64, 48)
    assert image.getpixel((60, 10)) == (255, 0, 0)
    assert image.getpixel((55, 10)) == (0, 0, 0)
    assert image.getpixel((60, 20)) == (0, 0, 0)  # 16 rows from y=4 end at 19

    graph["3"]["inputs"].update(resize_source=True, x=0, y=0)
    [image] = output_images(server, run_prompt(server, graph))
    assert image.getcolors() == [(64 * 48, (255, 0, 0))]


def masked_sampling(server, encoder):
    """Sample into the left half of a uniform photo, masked with `encoder`."""
    photo = Image.new("RGB", (64, 64), (20, 120, 200))
    mask = Image.new("RGB", (64, 64), (0, 0, 0))
    mask.paste((255, 255, 255), (0, 0, 32, 64))
    upload(server, png_bytes(photo), "photo.png")
    upload(server, png_bytes(mask), "mask.png")
    graph = text_to_image(width=64, height=64)
    del graph["5"]
    graph["1"] = node("LoadImage", image="photo.png")
    graph["2"] = node("LoadImageMask", image="mask.png", channel="red")
    if encoder == "SetLatentNoiseMask":
        graph["10"] = node("VAEEncode", pixels=["1", 0], vae=["4", 2])
        graph["11"] = node("SetLatentNoiseMask", samples=["10", 0], mask=["2", 0])
    else:
        graph["11"] = node(
            "VAEEncodeForInpaint", pixels=["1", 0], vae=["4", 2], mask=["2", 0], grow_mask_by=6
        )
    graph["3"]["inputs"]["latent_image"] = ["11", 0]
    [image] = output_images(server, run_prompt(server, graph))
    return image


def test_a_noise_mask_repaints_only_inside_the_mask(server):
    image = masked_sampling(server, "SetLatentNoiseMask")

    assert image.size == (64, 64)
    assert image.crop((32, 0, 64, 64)).getcolors() == [(32 * 64, (20, 120, 200))]
    assert (20, 120, 200) not in [color for _, color in image.crop((0, 0, 32, 64)).getcolors(4096)]


def test_an_inpaint_encoding_repaints_the_mask_grown_by_a_few_pixels(server):
    image = masked_sampling(server, "VAEEncodeForInpaint")

    assert image.size == (64, 64)
    assert image.crop((36, 0, 64, 64)).getcolors() == [(28 * 64, (20, 120, 200))]
    grown = image.crop((32, 0, 35, 64)).getcolors(4096)
    assert (20, 120, 200) not in [color for _, color in grown]


@pytest.mark.parametrize(
    ("model", "scale"),
    [("4x-UltraSharp.pth", 4), ("RealESRGAN_x2plus.pth", 2), ("plain.pth", 4)],
)
def test_a_model_upscale_scales_by_the_factor_in_the_models_name(server, model, scale):
    graph = {
        "1": empty_image(40, 30, color=0x336699),
        "2": {"class_type": "UpscaleModelLoader", "inputs": {"model_name": model}},
        "3": {
            "class_type": "ImageUpscaleWithModel",
            "inputs": {"upscale_model": ["2", 0], "image": ["1", 0]},
        },
        "4": save("3"),
    }
    [image] = output_images(server, run_prompt(server, graph))
    assert image.size == (40 * scale, 30 * scale)
    assert image.getpixel((5, 5)) == (0x33, 0x66, 0x99)


def test_a_model_upscale_reports_one_step_per_tile(server):
    graph = {
        "1": empty_image(1000, 500, batch=2),
        "2": node("UpscaleModelLoader", model_name="RealESRGAN_x2plus.pth"),
        "3": {
            "class_type": "ImageUpscaleWithModel",
            "inputs": {"upscale_model": ["2", 0], "image": ["1", 0]},
        },
        "4": {"class_type": "PreviewImage", "inputs": {"images": ["3", 0]}},
    }
    _, messages = run_watching(server, graph)

    # 512-pixel tiles overlapping by 32: 3 across, 2 down, for each of the 2 images.
    steps = [(m["data"]["value"], m["data"]["max"]) for m in messages if m["type"] == "progress"]
    assert steps == [(step, 12) for step in range(1, 13)]


def test_animated_webp_and_png_are_saved_as_real_animations(server):
    graph = text_to_image(width=128, height=128, batch=4)  # four different pictures
    del graph["9"]
    graph["10"] = node(
        "SaveAnimatedWEBP",
        images=["8", 0],
        filename_prefix="anim",
        fps=6.0,
        lossless=False,
        quality=80,
        method="default",
    )
    graph["11"] = node(
        "SaveAnimatedPNG", images=["8", 0], filename_prefix="anim", fps=4.0, compress_level=4
    )

    entry = run_prompt(server, graph)

    webp_output, png_output = entry["outputs"]["10"], entry["outputs"]["11"]
    assert webp_output == {
        "images": [{"filename": "anim_00001_.webp", "subfolder": "", "type": "output"}],
        "animated": [True],
    }
    assert png_output["images"][0]["filename"] == "anim_00002_.png"
    assert png_output["animated"] == [True]
    view = requests.get(f"{server.url}/view", params=webp_output["images"][0], timeout=10)
    assert view.headers["Content-Type"] == "image/webp"
    webp = Image.open(server.output_dir / "anim_00001_.webp")
    png = Image.open(server.output_dir / "anim_00002_.png")
    assert (webp.format, webp.n_frames, webp.size) == ("WEBP", 4, (128, 128))
    assert webp.getexif()[0x0110].startswith('prompt:{"4": ')  # the graph, as ComfyUI writes it
    assert (png.format, png.n_frames, png.info["duration"]) == ("PNG", 4, 250)
    assert b"comf" in (server.output_dir / "anim_00002_.png").read_bytes()  # the graph


def test_a_one_frame_webp_is_not_flagged_animated(server):
    graph = {
        "1": empty_image(32, 32),
        "2": {
            "class_type": "SaveAnimatedWEBP",
            "inputs": {
                "images": ["1", 0],
                "filename_prefix": "still",
                "fps": 6.0,
                "lossless": True,
                "quality": 80,
                "method": "fastest",
            },
        },
    }
    assert run_prompt(server, graph)["outputs"]["2"]["animated"] == [False]


def test_a_node_the_stand_in_does_not_run_fails_at_run_time_and_the_server_goes_on(server):
    graph = {"1": empty_image(32, 32), "2": node("ImageInvert", image=["1", 0]), "3": save("2")}

    entry = run_prompt(server, graph)

    event, error = entry["status"]["messages"][-1]
    assert event == "execution_error"
    assert (error["node_id"], error["exception_type"]) == ("2", "NotImplementedError")
    assert "stand-in" in error["exception_message"]
    [image] = output_images(server, run_prompt(server, {"1": empty_image(8, 8), "2": save("1")}))
    assert image.size == (8, 8)


def test_inputs_a_node_does_not_declare_are_ignored(server):
    graph = {"1": empty_image(8, 8), "2": save("1")}
    graph["1"]["inputs"]["note"] = "left over from an older export"

    [image] = output_images(server, run_prompt(server, graph))
    assert ImageChops.difference(image.convert("RGB"), Image.new("RGB", (8, 8))).getbbox() is None


def test_a_model_upscale_reports_progress_in_the_recorded_order(start_comfy_server):
    records = load("i_progress_and_previews")
    [request] = [
        r["request"]["json"]
        for r in records
        if r["kind"] == "http" and "UpscaleModelLoader" in str(r["request"].get("json"))
    ]
    recorded = [r["text"] for r in records if r["kind"] == "ws_recv" and r["ws"] == "client"]
    server = start_comfy_server(models={"upscale_models": ["random_compact_x2.safetensors"]})
    upload(server, image_bytes((1024, 1024)), "prog.jpg")

    _, messages = run_watching(server, request["prompt"])

    def upscale_part(stream):
        """From the upscale node's start to the next node's, with node 3's progress values."""
        kinds = [(m["type"], m["data"].get("node")) for m in stream]
        start, end = kinds.index(("executing", "3")), kinds.index(("executing", "4"))
        part = []
        for message in stream[start:end]:
            data = message["data"]
            if message["type"] == "progress_state":
                data = data["nodes"].get("3", {})
            part.append((message["type"], data.get("value"), data.get("max"), data.get("state")))
        return part

    assert upscale_part(messages) == upscale_part(recorded)
