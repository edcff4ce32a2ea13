"""Output formats: a still image converted to the format a job asked for.

ComfyUI saves PNGs; a job may ask for `png` (kept as it is), `jpeg` or `webp`
with a quality. Animations and videos are kept as ComfyUI made them: turning
an animated WEBP into one JPEG frame would lose what the user asked for.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image

DEFAULT_QUALITY = {"jpeg": 90, "webp": 85}
_PILLOW = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
_CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
_EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp"}


@dataclass(frozen=True)
class Converted:
    data: bytes
    content_type: str
    extension: str


def still_convert(source: BinaryIO, *, fmt: str, quality: int | None = None) -> Converted | None:
    """Re-encode one still image as `fmt`; None when it is already in it.

    JPEG has no alpha: transparent pixels are laid on white, as a photo
    viewer would show them. Raises ValueError for an unknown format.
    """
    if fmt not in _PILLOW:
        raise ValueError(f"unknown output format {fmt!r}")
    with Image.open(source) as image:
        if (image.format or "").upper() == _PILLOW[fmt]:
            return None
        image.load()
        if fmt == "jpeg":
            if image.mode in ("RGBA", "LA", "P"):
                rgba = image.convert("RGBA")
                image = Image.new("RGB", rgba.size, "white")
                image.paste(rgba, mask=rgba.getchannel("A"))
            elif image.mode != "RGB":
                image = image.convert("RGB")
        out = io.BytesIO()
        options = {}
        if fmt in DEFAULT_QUALITY:
            options["quality"] = quality or DEFAULT_QUALITY[fmt]
        else:
            options["optimize"] = False  # PNG: fast, lossless
        image.save(out, format=_PILLOW[fmt], **options)
    return Converted(out.getvalue(), _CONTENT_TYPES[fmt], _EXTENSIONS[fmt])
