"""A still output is converted to the format the job asked for."""

import io

import pytest
from PIL import Image

from generations.formats import still_convert


def _png(mode="RGB", size=(32, 24)):
    out = io.BytesIO()
    Image.new(mode, size, (10, 200, 30, 128) if mode == "RGBA" else (10, 200, 30)).save(
        out, format="PNG"
    )
    out.seek(0)
    return out


def test_webp_is_written_as_webp_of_the_same_size():
    converted = still_convert(_png(), fmt="webp", quality=60)
    assert converted.content_type == "image/webp"
    assert converted.extension == "webp"
    with Image.open(io.BytesIO(converted.data)) as image:
        assert image.format == "WEBP"
        assert image.size == (32, 24)


def test_jpeg_lays_transparency_on_white():
    converted = still_convert(_png("RGBA"), fmt="jpeg")
    with Image.open(io.BytesIO(converted.data)) as image:
        assert image.format == "JPEG"
        assert image.mode == "RGB"
        red, green, blue = image.getpixel((5, 5))
        assert red > 100 and blue > 100  # half-transparent green over white


def test_quality_changes_the_bytes():
    low = still_convert(_png(size=(256, 256)), fmt="jpeg", quality=5)
    high = still_convert(_png(size=(256, 256)), fmt="jpeg", quality=100)
    assert len(low.data) < len(high.data)


def test_a_png_asked_as_png_is_kept_untouched():
    assert still_convert(_png(), fmt="png") is None


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="tiff"):
        still_convert(_png(), fmt="tiff")
