"""Checks an uploaded image by its content, never by its name; reads and
fetches images with the upload cap.

Used by every way an image enters Creator (dashboard, API, Drive, inbox), so
all of them refuse the same files with the same sentences.
"""

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

from creator_site import netguard

# Pillow's format names -> what we store and tell the user.
ACCEPTED_FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
    "GIF": ("image/gif", "gif"),
}
ACCEPTED_TEXT = "Creator processes JPEG, PNG, WebP and GIF images."

# Magic numbers of files people commonly upload by mistake, to name them.
_KNOWN_SIGNATURES = [
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"BM", "a BMP image"),
    (b"\x00\x00\x00\x18ftypheic", "a HEIC photo"),
    (b"\x00\x00\x00\x1cftypheic", "a HEIC photo"),
]


class InvalidImage(ValueError):
    """The file cannot be processed. `code` is stable; str() is for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ImageInfo:
    format: str  # Pillow's name: JPEG, PNG, WEBP, GIF
    content_type: str
    extension: str
    width: int
    height: int
    size: int
    sha256: str


def _describe(head: bytes) -> str | None:
    for signature, name in _KNOWN_SIGNATURES:
        if head.startswith(signature):
            return name
    return None


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB"


def image_check(
    stream: BinaryIO | bytes, *, max_bytes: int, max_pixels: int, name: str = ""
) -> ImageInfo:
    """Return facts about a valid image or raise InvalidImage.

    Reads at most `max_bytes + 1` bytes. The pixel limit is checked from the
    header *before* decoding, so a decompression bomb costs no memory; the
    image is then fully decoded once to catch truncated or corrupt files.
    """
    if isinstance(stream, bytes | bytearray):
        data = bytes(stream[: max_bytes + 1])
    else:
        data = stream.read(max_bytes + 1)
    label = f"“{name}”" if name else "This file"
    if not data:
        raise InvalidImage("empty_file", f"{label} is empty. Choose an image file and try again.")
    if len(data) > max_bytes:
        raise InvalidImage(
            "file_too_large",
            f"{label} is larger than {_mb(max_bytes)}. Resize or compress it and try again.",
        )
    try:
        with warnings.catch_warnings():
            # Pillow warns (and later raises) on huge images; we check the
            # pixel count ourselves with a clearer message.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image_format = image.format
            width, height = image.size
    except Image.DecompressionBombError as exc:
        # Pillow refuses outright past twice its own limit, before we see the size.
        raise InvalidImage(
            "too_many_pixels",
            f"{label} has far more pixels than the {max_pixels / 1e6:.0f} megapixel limit. "
            "Resize it and try again.",
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        known = _describe(data[:16])
        what = f"{label} is {known}." if known else f"{label} is not an image we can read."
        raise InvalidImage("unsupported_type", f"{what} {ACCEPTED_TEXT}") from exc
    if image_format not in ACCEPTED_FORMATS:
        raise InvalidImage(
            "unsupported_type", f"{label} is a {image_format} image. {ACCEPTED_TEXT}"
        )
    if width * height > max_pixels:
        raise InvalidImage(
            "too_many_pixels",
            f"{label} is {width} × {height} pixels ({width * height / 1e6:.0f} megapixels); "
            f"the limit is {max_pixels / 1e6:.0f} megapixels. Resize it and try again.",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()  # decodes every byte: truncated data raises here
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidImage(
            "corrupt_image",
            f"{label} looks like a {image_format} image but is damaged or incomplete. "
            "Export or download it again and retry.",
        ) from exc
    finally:
        image.close()
    content_type, extension = ACCEPTED_FORMATS[image_format]
    return ImageInfo(
        format=image_format,
        content_type=content_type,
        extension=extension,
        width=width,
        height=height,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _too_large(max_bytes: int) -> str:
    return (
        f"The image is larger than {max_bytes // (1024 * 1024)} MB. "
        "Resize or compress it and try again."
    )


def image_read(upload: BinaryIO, *, max_bytes: int) -> bytes:
    """An uploaded file's bytes (at most `max_bytes + 1`, for `image_check`
    to refuse). A file whose declared `size` is over the cap is refused
    before anything is read: InvalidImage("file_too_large")."""
    size = getattr(upload, "size", None)
    if size is not None and size > max_bytes:
        raise InvalidImage("file_too_large", _too_large(max_bytes))
    upload.seek(0)
    return upload.read(max_bytes + 1)


def image_fetch(url: str, *, max_bytes: int, timeout: float) -> bytes:
    """Download an image through the outbound guard: public addresses only
    (every redirect hop re-checked), the upload size cap, a total timeout.

    Raises InvalidImage with code `unsafe_url` (the guard refused the
    address), `file_too_large`, or `unreachable_url` (no answer, or not 200).
    The content is not checked: pass it to `image_check`.
    """
    try:
        response = netguard.safe_request(
            "GET",
            url,
            headers={"Accept": "image/*", "User-Agent": "Creator image fetcher"},
            timeout=timeout,
            max_bytes=max_bytes,
            allow_redirects=True,
        )
    except netguard.UnsafeURL as exc:
        raise InvalidImage("unsafe_url", str(exc)) from exc
    except netguard.ResponseTooLarge as exc:
        raise InvalidImage("file_too_large", _too_large(max_bytes)) from exc
    except netguard.OutboundError as exc:
        raise InvalidImage("unreachable_url", str(exc)) from exc
    if response.status != 200:
        raise InvalidImage(
            "unreachable_url",
            f"Downloading the image failed: the server answered HTTP {response.status}.",
        )
    return response.body
