"""Tells drf-spectacular how API keys are sent, so the schema (and the
interactive docs' "Authorize" button) show Bearer auth."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "sk_live_…",
            "description": "An API key from Settings → API keys, sent as "
            "`Authorization: Bearer sk_live_…`. Each endpoint names the scope it needs.",
        }
