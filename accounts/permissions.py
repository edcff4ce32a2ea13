"""API key scopes, enforced per endpoint and HTTP method."""

from rest_framework.permissions import BasePermission

from accounts.models import ApiKey


class ApiKeyScopes(BasePermission):
    """The request's API key must carry the scope the view names for the method.

    Views declare `required_scopes = {"GET": "jobs:read", "POST": "jobs:write"}`.
    Session-authenticated dashboard users are not limited by scopes: they can
    already do everything in the browser. A method the view names no scope for
    is refused to keys, so a forgotten entry fails closed.
    """

    def has_permission(self, request, view) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return True
        if request.method == "OPTIONS":
            return True  # describes the endpoint; reads and changes nothing
        required = getattr(view, "required_scopes", {}).get(request.method)
        if request.method == "HEAD" and required is None:
            required = getattr(view, "required_scopes", {}).get("GET")
        if required is None:
            self.message = "API keys cannot use this endpoint."
            return False
        if required not in (api_key.scopes or []):
            self.message = (
                f"This API key does not have the “{required}” scope. Create a key with that "
                "scope on the API keys page of your settings."
            )
            return False
        return True
