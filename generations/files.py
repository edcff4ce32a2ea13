"""Signed, expiring links to stored files: the only way users reach them.

With S3 the storage presigns the URL itself (AWS_QUERYSTRING_EXPIRE). On
local disk we sign the asset id with Django's signer and serve the file
through `asset_download`, which checks the signature and its age.
"""

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.urls import reverse

from generations.models import Asset

_SALT = "generations.asset"


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
