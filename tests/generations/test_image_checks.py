"""Uploads are judged by their bytes, with sentences a person can act on."""

import io
import struct
import zlib

import pytest
from PIL import Image

from generations.images import InvalidImage, image_check

LIMITS = {"max_bytes": 10 * 1024 * 1024, "max_pixels": 40_000_000}


def encode(fmt: str, size=(64, 48), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (200, 30, 90) if mode == "RGB" else 1).save(buffer, format=fmt)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that *claims* a size: the shape of a decompression bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp"), ("GIF", "image/gif")],
)
def test_it_accepts_the_four_formats(fmt, content_type):
    info = image_check(encode(fmt), **LIMITS)
    assert info.content_type == content_type
    assert (info.width, info.height) == (64, 48)
    assert len(info.sha256) == 64


def test_it_judges_by_content_not_by_name():
    # PNG bytes named .jpg are a PNG; the name does not matter.
    info = image_check(encode("PNG"), name="holiday.jpg", **LIMITS)
    assert info.format == "PNG"


def test_it_rejects_text_named_like_a_jpeg():
    with pytest.raises(InvalidImage) as caught:
        image_check(b"hello, this is not an image at all", name="photo.jpg", **LIMITS)
    assert caught.value.code == "unsupported_type"
    assert "photo.jpg" in caught.value.message
    assert "JPEG, PNG, WebP and GIF" in caught.value.message


def test_it_names_a_pdf():
    with pytest.raises(InvalidImage) as caught:
        image_check(b"%PDF-1.7\n" + b"0" * 100, name="scan.jpg", **LIMITS)
    assert "PDF" in caught.value.message


def test_it_rejects_formats_pillow_reads_but_we_do_not_process():
    with pytest.raises(InvalidImage) as caught:
        image_check(encode("BMP"), **LIMITS)
    assert caught.value.code == "unsupported_type"
    assert "BMP" in caught.value.message


def test_it_rejects_a_truncated_jpeg():
    data = encode("JPEG", size=(800, 600))
    with pytest.raises(InvalidImage) as caught:
        image_check(data[: len(data) // 2], **LIMITS)
    assert caught.value.code == "corrupt_image"


def test_it_rejects_a_decompression_bomb_before_decoding():
    with pytest.raises(InvalidImage) as caught:
        image_check(png_header_only(20_000, 20_000), **LIMITS)
    assert caught.value.code == "too_many_pixels"
    assert "40 megapixel" in caught.value.message


def test_it_names_the_size_of_an_image_just_over_the_limit():
    with pytest.raises(InvalidImage) as caught:
        image_check(png_header_only(8_000, 6_000), **LIMITS)
    assert caught.value.code == "too_many_pixels"
    assert "8000 × 6000" in caught.value.message


def test_it_rejects_a_file_over_the_size_limit():
    data = encode("PNG") + b"\0" * (11 * 1024 * 1024)
    with pytest.raises(InvalidImage) as caught:
        image_check(io.BytesIO(data), **LIMITS)
    assert caught.value.code == "file_too_large"
    assert "10 MB" in caught.value.message


def test_it_rejects_an_empty_file():
    with pytest.raises(InvalidImage) as caught:
        image_check(b"", **LIMITS)
    assert caught.value.code == "empty_file"
