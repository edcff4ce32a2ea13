"""DRF authentication with `Authorization: Bearer sk_live_…` API keys."""

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from accounts import services
from accounts.models import ApiKey

MALFORMED = "Malformed Authorization header. Send it as: Authorization: Bearer sk_live_…"


class ApiKeyAuthentication(BaseAuthentication):
    """Returns (user, api_key). Requests without a Bearer header fall through
    to session authentication; a Bearer header that is wrong in any way is a 401."""

    def authenticate(self, request):
        header = get_authorization_header(request)
        if not header:
            return None
        parts = header.split()
        if not parts or parts[0].lower() != b"bearer":
            raise exceptions.AuthenticationFailed(MALFORMED)
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(MALFORMED)
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(MALFORMED) from exc
        if not token.startswith(ApiKey.PREFIX):
            raise exceptions.AuthenticationFailed(MALFORMED)
        try:
            api_key = services.api_key_authenticate(full_key=token)
        except services.ApiKeyRejected as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from exc
        return api_key.user, api_key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
