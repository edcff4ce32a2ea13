"""Stand-ins for ComfyUI's model nodes: loaders, text encoding, sampling, VAE, upscaling.

No model runs here. A loader checks that its file is "installed" (see
`model_files.py`) and hands on its name; KSampler "renders" a picture that is
a deterministic function of its seed, its positive prompt's text and the
latent's size (same inputs, same pixels), and reports one progress step per
sampling step, as ComfyUI does. VAEEncode/SetLatentNoiseMask/VAEEncodeForInpaint
keep the pixels and the mask, so image-to-image and inpainting graphs return
the input outside the mask and a rendered picture inside it. ImageUpscaleWithModel
resizes by the factor the model's name announces (`4x-…`, `…_x2…`; 4 otherwise),
with one progress step per 512-pixel tile like the real tiled upscale.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace

from PIL import Image, ImageDraw, ImageFilter

from .model_files import tiled_scale_steps, upscale_factor
from .nodes import NodeResult, RunContext

LATENT_SCALE = 8  # pixels per latent cell: sizes are cropped to multiples of it
EMPTY_LATENT_RGB = (128, 128, 128)  # what an all-zero latent decodes to, roughly
RENDER_CELLS = 64  # the picture is composed at this size and then smoothly enlarged


@dataclass(frozen=True)
class ModelPart:
    """MODEL, CLIP or VAE of a loaded checkpoint (only its name is known)."""

    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} from {self.name}"


@dataclass(frozen=True)
class Conditioning:
    text: str

    def __str__(self) -> str:
        return f"conditioning for {self.text!r}"


@dataclass(frozen=True)
class Latent:
    """A LATENT: its pixel size, and the pixels it holds (None: all zeros)."""

    size: tuple[int, int]
    batch_size: int
    images: list[Image.Image] | None = None
    noise_mask: list[Image.Image] | None = None

    def __str__(self) -> str:
        return f"latent {self.size[0]}x{self.size[1]} batch {self.batch_size}"


@dataclass(frozen=True)
class UpscaleModel:
    name: str
    scale: int

    def __str__(self) -> str:
        return f"upscale model {self.name} (x{self.scale})"


def _require_model(ctx: RunContext, folder: str, name: str) -> None:
    if name not in ctx.models.get(folder, []):
        # ComfyUI's folder_paths.get_full_path_or_raise, word for word.
        raise FileNotFoundError(f"Model in folder '{folder}' with filename '{name}' not found.")


def render(seed: int, text: str, size: tuple[int, int], index: int = 0) -> Image.Image:
    """The stand-in's "generated" picture: colour fields and soft discs from a hash."""
    digest = hashlib.shake_256(f"{seed}\n{index}\n{text}".encode()).digest(48 + 8 * 8)
    width, height = size
    if width >= height:
        small = (RENDER_CELLS, max(1, round(RENDER_CELLS * height / width)))
    else:
        small = (max(1, round(RENDER_CELLS * width / height)), RENDER_CELLS)
    picture = Image.frombytes("RGB", (4, 4), digest[:48]).resize(small, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(picture, "RGBA")
    for disc in range(8):
        x, y, r, red, green, blue, alpha, _ = digest[48 + 8 * disc : 56 + 8 * disc]
        cx, cy = x * small[0] / 255, y * small[1] / 255
        radius = 2 + r * min(small) / 1020
        box = (cx - radius, cy - radius, cx + radius, cy + radius)
        draw.ellipse(box, fill=(red, green, blue, 96 + alpha // 2))
    picture = picture.filter(ImageFilter.SMOOTH)
    return picture.resize(size, Image.Resampling.BICUBIC)


def _crop_to_latent(img: Image.Image) -> Image.Image:
    """VAE encoders crop pixels to whole latent cells, centred, like ComfyUI."""
    width = img.width // LATENT_SCALE * LATENT_SCALE
    height = img.height // LATENT_SCALE * LATENT_SCALE
    if (width, height) == img.size:
        return img
    left = (img.width % LATENT_SCALE) // 2
    top = (img.height % LATENT_SCALE) // 2
    return img.crop((left, top, left + width, top + height))


def _checkpoint_loader_simple(ctx: RunContext, ckpt_name: str) -> NodeResult:
    _require_model(ctx, "checkpoints", ckpt_name)
    parts = tuple(ModelPart(kind, ckpt_name) for kind in ("MODEL", "CLIP", "VAE"))
    return NodeResult(parts)


def _lora_loader(
    ctx: RunContext,
    model: ModelPart,
    clip: ModelPart,
    lora_name: str,
    strength_model: float,
    strength_clip: float,
) -> NodeResult:
    _require_model(ctx, "loras", lora_name)
    return NodeResult((model, clip))


def _vae_loader(ctx: RunContext, vae_name: str) -> NodeResult:
    if vae_name != "pixel_space":
        _require_model(ctx, "vae", vae_name)
    return NodeResult((ModelPart("VAE", vae_name),))


def _clip_text_encode(ctx: RunContext, text: str, clip: ModelPart) -> NodeResult:
    return NodeResult((Conditioning(text),))


def _empty_latent_image(ctx: RunContext, width: int, height: int, batch_size: int) -> NodeResult:
    size = (width // LATENT_SCALE * LATENT_SCALE, height // LATENT_SCALE * LATENT_SCALE)
    return NodeResult((Latent(size, batch_size),))


def _ksampler(
    ctx: RunContext,
    model: ModelPart,
    seed: int,
    steps: int,
    cfg: float,
    sampler_name: str,
    scheduler: str,
    positive: Conditioning,
    negative: Conditioning,
    latent_image: Latent,
    denoise: float,
) -> NodeResult:
    for step in range(1, steps + 1):
        ctx.progress(step, steps)
    latent = latent_image
    text = getattr(positive, "text", str(positive))
    pictures = []
    for index in range(latent.batch_size):
        picture = render(seed, text, latent.size, index)
        if latent.images is not None:
            source = latent.images[min(index, len(latent.images) - 1)]
        else:
            source = Image.new("RGB", latent.size, EMPTY_LATENT_RGB)
        if denoise < 1:
            # Partial denoising keeps part of what was there.
            picture = Image.blend(source, picture, denoise)
        if latent.noise_mask:
            # Outside the noise mask the latent is left as it was.
            mask = latent.noise_mask[min(index, len(latent.noise_mask) - 1)]
            mask = mask.resize(latent.size, Image.Resampling.BILINEAR)
            picture = Image.composite(picture, source, mask)
        pictures.append(picture)
    return NodeResult((replace(latent, images=pictures),))


def _vae_decode(ctx: RunContext, samples: Latent, vae: ModelPart) -> NodeResult:
    if samples.images is None:
        images = [Image.new("RGB", samples.size, EMPTY_LATENT_RGB)] * samples.batch_size
    else:
        images = [img.convert("RGB") for img in samples.images]
    return NodeResult((images,))


def _vae_encode(ctx: RunContext, pixels: list, vae: ModelPart) -> NodeResult:
    images = [_crop_to_latent(img.convert("RGB")) for img in pixels]
    return NodeResult((Latent(images[0].size, len(images), images),))


def _vae_encode_for_inpaint(
    ctx: RunContext, pixels: list, vae: ModelPart, mask: list, grow_mask_by: int
) -> NodeResult:
    images, masks = [], []
    for index, img in enumerate(pixels):
        m = mask[min(index, len(mask) - 1)].resize(img.size, Image.Resampling.BILINEAR)
        img, m = _crop_to_latent(img.convert("RGB")), _crop_to_latent(m)
        rounded = m.point(lambda value: 255 if value >= 128 else 0)
        # The masked pixels are greyed out before encoding, as ComfyUI does.
        images.append(Image.composite(Image.new("RGB", img.size, EMPTY_LATENT_RGB), img, rounded))
        if grow_mask_by:
            rounded = rounded.filter(ImageFilter.MaxFilter(grow_mask_by | 1))
        masks.append(rounded)
    return NodeResult((Latent(images[0].size, len(images), images, masks),))


def _set_latent_noise_mask(ctx: RunContext, samples: Latent, mask: list) -> NodeResult:
    return NodeResult((replace(samples, noise_mask=list(mask)),))


def _upscale_model_loader(ctx: RunContext, model_name: str) -> NodeResult:
    _require_model(ctx, "upscale_models", model_name)
    return NodeResult((UpscaleModel(model_name, upscale_factor(model_name)),))


def _image_upscale_with_model(
    ctx: RunContext, upscale_model: UpscaleModel, image: list
) -> NodeResult:
    steps = len(image) * tiled_scale_steps(image[0].width, image[0].height)
    for step in range(1, steps + 1):
        ctx.progress(step, steps)
    scale = upscale_model.scale
    out = [
        img.convert("RGB").resize((img.width * scale, img.height * scale), Image.Resampling.LANCZOS)
        for img in image
    ]
    return NodeResult((out,))


SAMPLING_NODES: dict[str, Callable[..., NodeResult]] = {
    "CheckpointLoaderSimple": _checkpoint_loader_simple,
    "LoraLoader": _lora_loader,
    "VAELoader": _vae_loader,
    "CLIPTextEncode": _clip_text_encode,
    "EmptyLatentImage": _empty_latent_image,
    "KSampler": _ksampler,
    "VAEDecode": _vae_decode,
    "VAEEncode": _vae_encode,
    "VAEEncodeForInpaint": _vae_encode_for_inpaint,
    "SetLatentNoiseMask": _set_latent_noise_mask,
    "UpscaleModelLoader": _upscale_model_loader,
    "ImageUpscaleWithModel": _image_upscale_with_model,
}
