"""Stored files: where they live, how they are written, and signed links to them.

The storage layout (every key in default_storage is chosen here):

    uploads/<user>/<job>/input.<ext>          a job's input image
    uploads/<user>/assets/<asset>.<ext>       an API upload no job owns yet
    outputs/<user>/<job>/<node>_<name>        a job's output
    outputs/<user>/<job>/thumbs/<asset>.webp  its thumbnail

Everything of a user is under `uploads/<user>/` and `outputs/<user>/`, so the
data export and account erasure (accounts) find it with `user_file_names`.

Links: with S3 the storage presigns the URL itself (AWS_QUERYSTRING_EXPIRE).
On local disk we sign the asset id with Django's signer and serve the file
through `asset_download`, which checks the signature and its age.
"""

import hashlib
import io
import tempfile
import uuid
from collections.abc import Iterator
from typing import BinaryIO

from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image

from generations import comfyui_client as comfy
from generations.images import image_check, image_read
from generations.models import Asset, Generation

UPLOADS = "uploads"
OUTPUTS = "outputs"
THUMBNAIL_SIZE = (512, 512)
_SALT = "generations.asset"


# --- layout -----------------------------------------------------------------------


def input_key(*, user_id, generation_id, extension: str, input_name: str = "") -> str:
    return f"{UPLOADS}/{user_id}/{generation_id}/{input_name or 'input'}.{extension}"


def upload_key(*, user_id, asset_id, extension: str) -> str:
    # Under uploads/<user>/ like job inputs, so export and erasure find it.
    return f"{UPLOADS}/{user_id}/assets/{asset_id}.{extension}"


def outputs_folder(*, user_id, generation_id) -> str:
    return f"{OUTPUTS}/{user_id}/{generation_id}"


def comfy_input_name(generation_id, extension: str, input_name: str = "") -> tuple[str, str]:
    """(subfolder, name) of a job's input on the ComfyUI server: a folder per
    job, so names never collide between jobs or users, and a file per input
    name ("" is the one file of a single-upload job, `input.<ext>`)."""
    return f"creator/{generation_id}", f"{input_name or 'input'}.{extension}"


def user_folders(*, user_id) -> list[str]:
    """The folders that hold all of a user's files (no trailing slash)."""
    return [f"{UPLOADS}/{user_id}", f"{OUTPUTS}/{user_id}"]


# --- reading the storage ----------------------------------------------------------


def _listdir(path: str) -> tuple[list[str], list[str]] | None:
    # Local-disk storage raises for a folder that was never created; object
    # stores answer with an empty listing. Both mean "nothing stored here".
    try:
        return default_storage.listdir(path)
    except FileNotFoundError:
        return None


def _walk_files(path: str) -> Iterator[str]:
    listing = _listdir(path)
    if listing is None:
        return
    dirs, files = listing
    for name in sorted(files):
        yield f"{path}/{name}"
    for name in sorted(dirs):
        yield from _walk_files(f"{path}/{name}")


def _walk_dirs(path: str) -> Iterator[str]:
    listing = _listdir(path)
    if listing is None:
        return
    for name in sorted(listing[0]):
        yield f"{path}/{name}"
        yield from _walk_dirs(f"{path}/{name}")


def user_file_names(*, user_id) -> list[str]:
    """Every stored file of the user, as storage names."""
    return [name for folder in user_folders(user_id=user_id) for name in _walk_files(folder)]


def user_folder_names(*, user_id) -> list[str]:
    """The user's folders (theirs included), deepest first, for removing them
    once empty: local disk keeps empty folders, object stores have none."""
    dirs: list[str] = []
    for folder in user_folders(user_id=user_id):
        dirs.extend(_walk_dirs(folder))
        if _listdir(folder) is not None:
            dirs.append(folder)
    return sorted(dirs, key=lambda d: d.count("/"), reverse=True)


def upload_file_names() -> Iterator[str]:
    """Every stored input and upload of every user (for retention)."""
    return _walk_files(UPLOADS)


# --- writing ------------------------------------------------------------------------


def input_store(
    *, user_id, generation_id, extension: str, data: bytes, input_name: str = ""
) -> str:
    """Store a job's (already checked) input image; returns its storage name."""
    key = input_key(
        user_id=user_id, generation_id=generation_id, extension=extension, input_name=input_name
    )
    return default_storage.save(key, ContentFile(data))


def upload_create(*, user, upload: BinaryIO, name: str = "") -> Asset:
    """Check an uploaded image like every other input and store it as an
    input asset that no job owns yet. Raises InvalidImage."""
    data = image_read(upload, max_bytes=settings.UPLOAD_MAX_BYTES)
    info = image_check(
        data,
        max_bytes=settings.UPLOAD_MAX_BYTES,
        max_pixels=settings.UPLOAD_MAX_PIXELS,
        name=name,
    )
    asset_id = uuid.uuid4()
    key = default_storage.save(
        upload_key(user_id=user.id, asset_id=asset_id, extension=info.extension),
        ContentFile(data),
    )
    return Asset.objects.create(
        id=asset_id,
        user=user,
        generation=None,
        kind=Asset.Kind.INPUT,
        file=key,
        original_name=name[:255],
        content_type=info.content_type,
        size=info.size,
        width=info.width,
        height=info.height,
        sha256=info.sha256,
    )


def output_store(
    *, generation: Generation, client: comfy.ComfyUIClient, output: comfy.OutputImage
) -> list[Asset]:
    """Download one output and store it with a thumbnail; returns the two
    (unsaved) asset rows. The files are written, the rows are the caller's."""
    folder = outputs_folder(user_id=generation.user_id, generation_id=generation.id)
    # Spooled: small outputs stay in memory, big ones go to disk, so a
    # worker's memory does not grow with the image size.
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as buffer:
        size = client.download_to(output, buffer)
        buffer.seek(0)
        digest = hashlib.sha256()
        for chunk in iter(lambda: buffer.read(1 << 16), b""):
            digest.update(chunk)
        buffer.seek(0)
        with Image.open(buffer) as image:
            width, height = image.size
            content_type = Image.MIME.get(image.format or "", "application/octet-stream")
            thumbnail = _thumbnail(image)
        buffer.seek(0)
        key = f"{folder}/{output.node_id}_{output.filename}"
        stored_key = default_storage.save(key, File(buffer, name=output.filename))
    asset = Asset(
        user_id=generation.user_id,
        generation=generation,
        kind=Asset.Kind.OUTPUT,
        file=stored_key,
        original_name=output.filename,
        content_type=content_type,
        size=size,
        width=width,
        height=height,
        sha256=digest.hexdigest(),
        comfy_node_id=output.node_id,
    )
    thumb_key = default_storage.save(f"{folder}/thumbs/{asset.id}.webp", ContentFile(thumbnail))
    thumb = Asset(
        user_id=generation.user_id,
        generation=generation,
        kind=Asset.Kind.THUMBNAIL,
        file=thumb_key,
        original_name=f"{asset.id}.webp",
        content_type="image/webp",
        size=len(thumbnail),
        sha256=hashlib.sha256(thumbnail).hexdigest(),
        comfy_node_id=output.node_id,
    )
    return [asset, thumb]


def _thumbnail(image: Image.Image) -> bytes:
    copy = image.copy()
    copy.thumbnail(THUMBNAIL_SIZE)
    if copy.mode not in ("RGB", "RGBA"):
        copy = copy.convert("RGBA")
    out = io.BytesIO()
    copy.save(out, format="WEBP", quality=80)
    return out.getvalue()


def files_delete(*, assets: list[Asset]) -> None:
    """Delete the assets' files (not their rows)."""
    for asset in assets:
        default_storage.delete(asset.file.name)


def outputs_drop(*, generation: Generation) -> None:
    """Delete what an unfinished attempt stored (rows and files, including
    files whose rows were never committed), so a job ends with exactly one
    set of outputs."""
    Asset.objects.filter(generation_id=generation.id).exclude(kind=Asset.Kind.INPUT).delete()
    folder = outputs_folder(user_id=generation.user_id, generation_id=generation.id)
    for sub in ("", "/thumbs"):
        try:
            _, files = default_storage.listdir(folder + sub)
        except FileNotFoundError:
            continue
        for name in files:
            default_storage.delete(f"{folder}{sub}/{name}")


# --- signed links ---------------------------------------------------------------------


def storage_is_local() -> bool:
    return hasattr(default_storage, "path")


def asset_url(asset: Asset) -> str:
    """A URL to the file that works for SIGNED_URL_MAX_AGE seconds, for
    anyone who has it (API clients download without a session)."""
    if not storage_is_local():
        return default_storage.url(asset.file.name)
    token = signing.dumps(str(asset.id), salt=_SALT, compress=True)
    return reverse("generations:asset", args=[token])


def asset_from_token(token: str) -> Asset | None:
    """The asset a token names, or None if it is forged, expired or gone."""
    try:
        asset_id = signing.loads(token, salt=_SALT, max_age=settings.SIGNED_URL_MAX_AGE)
    except signing.BadSignature:
        return None
    return Asset.objects.filter(id=asset_id).first()
