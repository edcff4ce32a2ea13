"""Model-free ComfyUI image nodes, executed for real with Pillow.

An IMAGE is a list of PIL images (ComfyUI's batch dimension), a MASK a list of
"L" images (255 = 1.0). Each node returns a tuple of outputs, like ComfyUI's
node functions, and output nodes also return their UI dict ({"images": [...]}).
The nodes that need a model in ComfyUI are stand-ins in `sampling.py`.
"""

from __future__ import annotations

import io
import json
import os
import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops, ImageFilter, ImageOps, ImageSequence
from PIL.PngImagePlugin import PngInfo

RESAMPLE = {
    "nearest-exact": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "area": Image.Resampling.BOX,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}


def _no_progress(value: int, total: int) -> None:
    pass


@dataclass
class RunContext:
    """What a node may need besides its inputs (ComfyUI's hidden inputs and folders).

    `progress(value, total)` is ComfyUI's progress bar: the server sends
    `progress` messages for it and raises there when the prompt is interrupted."""

    input_dir: Path
    output_dir: Path
    temp_dir: Path
    prompt: dict[str, Any]
    extra_pnginfo: dict[str, Any] | None
    models: dict[str, list[str]] = field(default_factory=dict)
    progress: Callable[[int, int], None] = _no_progress


@dataclass
class NodeResult:
    outputs: tuple[Any, ...]
    ui: dict[str, Any] | None = None


def _open_input(ctx: RunContext, image: str) -> Image.Image:
    name, folder = annotated_filepath(image, ctx)
    path = (folder or ctx.input_dir) / name
    # Read whole, so the frames of an animation can be walked after the file is closed.
    with open(path, "rb") as fh:  # FileNotFoundError carries the path, like ComfyUI
        return Image.open(io.BytesIO(fh.read()))


def _load_image(ctx: RunContext, image: str) -> NodeResult:
    img = _open_input(ctx, image)
    images, masks = [], []
    # Every frame of an animated input is one image of the batch; frames of
    # another size are skipped, and an MPO (camera JPEG) gives its first only.
    for frame in ImageSequence.Iterator(img):
        frame = ImageOps.exif_transpose(frame)
        if images and frame.size != images[0].size:
            continue
        if frame.mode == "I":
            frame = frame.point(lambda value: value * (1 / 255))
        if "A" in frame.getbands():
            masks.append(ImageOps.invert(frame.getchannel("A")))
        elif frame.mode == "P" and "transparency" in frame.info:
            masks.append(ImageOps.invert(frame.convert("RGBA").getchannel("A")))
        else:
            masks.append(Image.new("L", (64, 64), 0))
        images.append(frame.convert("RGB"))
        if img.format == "MPO":
            break
    return NodeResult((images, masks))


def _load_image_mask(ctx: RunContext, image: str, channel: str) -> NodeResult:
    img = ImageOps.exif_transpose(_open_input(ctx, image))
    if img.getbands() != ("R", "G", "B", "A"):
        if img.mode == "I":
            img = img.point(lambda value: value * (1 / 255))
        img = img.convert("RGBA")
    mask = img.getchannel(channel[0].upper())
    if channel == "alpha":
        mask = ImageOps.invert(mask)  # transparent is what gets painted
    return NodeResult(([mask],))


def annotated_filepath(name: str, ctx: RunContext) -> tuple[str, Path | None]:
    """Split "x.png [output]" into ("x.png", output_dir), as ComfyUI does."""
    for suffix, folder in (
        (" [output]", ctx.output_dir),
        (" [input]", ctx.input_dir),
        (" [temp]", ctx.temp_dir),
    ):
        if name.endswith(suffix):
            return name[: -len(suffix)], folder
    return name, None


def save_image_path(prefix: str, output_dir: Path) -> tuple[Path, str, int, str]:
    """ComfyUI's counter rule: next <prefix>_NNNNN_ after the files already in that folder."""
    norm = os.path.normpath(prefix)
    subfolder = os.path.dirname(norm)
    filename = os.path.basename(norm)
    folder = output_dir / subfolder
    if os.path.commonpath((str(output_dir), str(folder.resolve()))) != str(output_dir):
        raise Exception(
            "**** ERROR: Saving image outside the output folder is not allowed."
            f"\n full_output_folder: {folder}\n         output_dir: {output_dir}"
        )

    def counter_of(name: str) -> tuple[int, str]:
        head = name[: len(filename) + 1]
        try:
            digits = int(name[len(filename) + 1 :].split("_")[0])
        except ValueError:
            digits = 0
        return digits, head

    try:
        counters = [
            digits
            for digits, head in map(counter_of, os.listdir(folder))
            if head[:-1] == filename and head[-1:] == "_"
        ]
        counter = max(counters) + 1 if counters else 1
    except FileNotFoundError:
        folder.mkdir(parents=True, exist_ok=True)
        counter = 1
    return folder, filename, counter, subfolder


def _save(ctx: RunContext, images: list, prefix: str, *, kind: str, compress: int) -> NodeResult:
    folder_root = ctx.output_dir if kind == "output" else ctx.temp_dir
    folder, filename, counter, subfolder = save_image_path(prefix, folder_root)
    results = []
    for batch_number, img in enumerate(images):
        info = PngInfo()
        info.add_text("prompt", json.dumps(ctx.prompt))
        for key, value in (ctx.extra_pnginfo or {}).items():
            info.add_text(key, json.dumps(value))
        name = f"{filename.replace('%batch_num%', str(batch_number))}_{counter:05}_.png"
        img.save(folder / name, pnginfo=info, compress_level=compress)
        results.append({"filename": name, "subfolder": subfolder, "type": kind})
        counter += 1
    return NodeResult((), {"images": results})


def _save_animated_webp(
    ctx: RunContext,
    images: list,
    filename_prefix: str,
    fps: float,
    lossless: bool,
    quality: int,
    method: str,
) -> NodeResult:
    folder, filename, counter, subfolder = save_image_path(filename_prefix, ctx.output_dir)
    exif = Image.Exif()
    exif[0x0110] = f"prompt:{json.dumps(ctx.prompt)}"
    tag = 0x010F
    for key, value in (ctx.extra_pnginfo or {}).items():
        exif[tag] = f"{key}:{json.dumps(value)}"
        tag -= 1
    name = f"{filename}_{counter:05}_.webp"
    images[0].save(
        folder / name,
        save_all=True,
        duration=int(1000.0 / fps),
        append_images=images[1:],
        exif=exif,
        lossless=lossless,
        quality=quality,
        method={"default": 4, "fastest": 0, "slowest": 6}[method],
    )
    result = {"filename": name, "subfolder": subfolder, "type": "output"}
    # ComfyUI flags a one-frame "animation" as not animated.
    return NodeResult((), {"images": [result], "animated": [len(images) != 1]})


def _save_animated_png(
    ctx: RunContext, images: list, filename_prefix: str, fps: float, compress_level: int
) -> NodeResult:
    folder, filename, counter, subfolder = save_image_path(filename_prefix, ctx.output_dir)
    info = PngInfo()
    # ComfyUI puts the graph in private "comf" chunks after the image data.
    info.add(b"comf", b"prompt\0" + json.dumps(ctx.prompt).encode("latin-1"), after_idat=True)
    for key, value in (ctx.extra_pnginfo or {}).items():
        data = key.encode("latin-1") + b"\0" + json.dumps(value).encode("latin-1")
        info.add(b"comf", data, after_idat=True)
    name = f"{filename}_{counter:05}_.png"
    images[0].save(
        folder / name,
        pnginfo=info,
        compress_level=compress_level,
        save_all=True,
        duration=int(1000.0 / fps),
        append_images=images[1:],
    )
    result = {"filename": name, "subfolder": subfolder, "type": "output"}
    return NodeResult((), {"images": [result], "animated": [True]})


def _save_image(ctx: RunContext, images: list, filename_prefix: str) -> NodeResult:
    return _save(ctx, images, filename_prefix, kind="output", compress=4)


def _preview_image(ctx: RunContext, images: list) -> NodeResult:
    suffix = "".join(random.choice(string.ascii_lowercase) for _ in range(5))  # noqa: S311
    return _save(ctx, images, "ComfyUI_temp_" + suffix, kind="temp", compress=1)


def _image_blur(ctx: RunContext, image: list, blur_radius: int, sigma: float) -> NodeResult:
    # ComfyUI convolves with a (2r+1) Gaussian kernel; Pillow's Gaussian is close enough.
    radius = min(float(sigma), float(blur_radius))
    return NodeResult(([img.filter(ImageFilter.GaussianBlur(radius)) for img in image],))


def _image_sharpen(
    ctx: RunContext, image: list, sharpen_radius: int, sigma: float, alpha: float
) -> NodeResult:
    if sharpen_radius == 0:
        return NodeResult((image,))
    unsharp = ImageFilter.UnsharpMask(radius=float(sigma), percent=int(alpha * 100), threshold=0)
    return NodeResult(([img.filter(unsharp) for img in image],))


def _blend(mode: str, a: Image.Image, b: Image.Image) -> Image.Image:
    if mode == "normal":
        return b
    if mode == "multiply":
        return ImageChops.multiply(a, b)
    if mode == "screen":
        return ImageChops.screen(a, b)
    if mode == "overlay":
        return ImageChops.overlay(a, b)
    if mode == "soft_light":
        return ImageChops.soft_light(a, b)
    if mode == "difference":
        return ImageChops.difference(a, b)
    raise ValueError(f"Unsupported blend mode: {mode}")


def _image_blend(
    ctx: RunContext, image1: list, image2: list, blend_factor: float, blend_mode: str
) -> NodeResult:
    out = []
    for i, a in enumerate(image1):
        b = image2[min(i, len(image2) - 1)]
        if b.size != a.size:
            b = _scale(b, a.size[0], a.size[1], "bicubic", "center")
        # ComfyUI adds an alpha channel rather than failing on RGB + RGBA.
        mode = "RGBA" if "A" in a.getbands() or "A" in b.getbands() else "RGB"
        a, b = a.convert(mode), b.convert(mode)
        out.append(Image.blend(a, _blend(blend_mode, a, b), float(blend_factor)))
    return NodeResult((out,))


def _scale(img: Image.Image, width: int, height: int, method: str, crop: str) -> Image.Image:
    old_w, old_h = img.size
    if crop == "center":
        old_aspect, new_aspect = old_w / old_h, width / height
        x = y = 0
        if old_aspect > new_aspect:
            x = round((old_w - old_w * (new_aspect / old_aspect)) / 2)
        elif old_aspect < new_aspect:
            y = round((old_h - old_h * (old_aspect / new_aspect)) / 2)
        img = img.crop((x, y, old_w - x, old_h - y))
    return img.resize((width, height), RESAMPLE[method])


def _image_scale(
    ctx: RunContext, image: list, upscale_method: str, width: int, height: int, crop: str
) -> NodeResult:
    if width == 0 and height == 0:
        return NodeResult((image,))
    out = []
    for img in image:
        w, h = width, height
        if w == 0:
            w = max(1, round(img.width * h / img.height))
        elif h == 0:
            h = max(1, round(img.height * w / img.width))
        out.append(_scale(img, w, h, upscale_method, crop))
    return NodeResult((out,))


def _image_scale_by(
    ctx: RunContext, image: list, upscale_method: str, scale_by: float
) -> NodeResult:
    out = [
        _scale(img, round(img.width * scale_by), round(img.height * scale_by), upscale_method, "")
        for img in image
    ]
    return NodeResult((out,))


def _resize_and_pad(
    ctx: RunContext,
    image: list,
    target_width: int,
    target_height: int,
    padding_color: str,
    interpolation: str,
) -> NodeResult:
    fill = (255, 255, 255) if padding_color == "white" else (0, 0, 0)
    out = []
    for img in image:
        scale = min(target_width / img.width, target_height / img.height)
        new_w, new_h = int(img.width * scale), int(img.height * scale)
        resized = img.convert("RGB").resize((new_w, new_h), RESAMPLE[interpolation])
        canvas = Image.new("RGB", (target_width, target_height), fill)
        canvas.paste(resized, ((target_width - new_w) // 2, (target_height - new_h) // 2))
        out.append(canvas)
    return NodeResult((out,))


def _empty_image(
    ctx: RunContext, width: int, height: int, batch_size: int, color: int
) -> NodeResult:
    rgb = ((color >> 16) & 0xFF, (color >> 8) & 0xFF, color & 0xFF)
    return NodeResult(([Image.new("RGB", (width, height), rgb) for _ in range(batch_size)],))


def _image_quantize(ctx: RunContext, image: list, colors: int, dither: str) -> NodeResult:
    if dither == "none":
        mode = Image.Dither.NONE
    elif dither in ("floyd-steinberg", "bayer-2", "bayer-4", "bayer-8", "bayer-16"):
        # Pillow has no ordered (Bayer) dither; error diffusion stands in for it.
        mode = Image.Dither.FLOYDSTEINBERG
    else:
        # What ComfyUI raises for an unknown dither (its local variable stays unbound).
        raise UnboundLocalError(
            "cannot access local variable 'quantized_image' where it is not associated with a value"
        )
    out = [img.convert("RGB").quantize(colors=colors, dither=mode).convert("RGB") for img in image]
    return NodeResult((out,))


def _image_crop(
    ctx: RunContext, image: list, width: int, height: int, x: int, y: int
) -> NodeResult:
    out = []
    for img in image:
        x0, y0 = min(x, img.width - 1), min(y, img.height - 1)
        out.append(img.crop((x0, y0, min(x0 + width, img.width), min(y0 + height, img.height))))
    return NodeResult((out,))


def _image_composite_masked(
    ctx: RunContext,
    destination: list,
    source: list,
    x: int,
    y: int,
    resize_source: bool,
    mask: list | None = None,
) -> NodeResult:
    out = []
    for i, dest in enumerate(destination):
        src = source[min(i, len(source) - 1)]
        if resize_source:
            src = src.resize(dest.size, Image.Resampling.BILINEAR)
        src = src.convert(dest.mode)
        alpha = None
        if mask:
            alpha = mask[min(i, len(mask) - 1)].resize(src.size, Image.Resampling.BILINEAR)
        # Only the part of the source that lands on the destination is pasted.
        left, top = min(x, dest.width), min(y, dest.height)
        width, height = min(src.width, dest.width - left), min(src.height, dest.height - top)
        dest = dest.copy()
        if width > 0 and height > 0:
            box = (0, 0, width, height)
            dest.paste(src.crop(box), (left, top), alpha.crop(box) if alpha else None)
        out.append(dest)
    return NodeResult((out,))


IMAGE_NODES: dict[str, Callable[..., NodeResult]] = {
    "LoadImage": _load_image,
    "LoadImageMask": _load_image_mask,
    "SaveImage": _save_image,
    "SaveAnimatedWEBP": _save_animated_webp,
    "SaveAnimatedPNG": _save_animated_png,
    "ImageCompositeMasked": _image_composite_masked,
    "PreviewImage": _preview_image,
    "ImageBlur": _image_blur,
    "ImageSharpen": _image_sharpen,
    "ImageBlend": _image_blend,
    "ImageScale": _image_scale,
    "ImageScaleBy": _image_scale_by,
    "ResizeAndPadImage": _resize_and_pad,
    "EmptyImage": _empty_image,
    "ImageQuantize": _image_quantize,
    "ImageCrop": _image_crop,
}
