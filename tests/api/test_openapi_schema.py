"""The OpenAPI schema is generated from the code and validates."""

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient


def test_the_schema_validates_without_warnings(db, tmp_path):
    target = tmp_path / "schema.yaml"

    # --fail-on-warn turns any drf-spectacular warning into an error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    schema = yaml.safe_load(target.read_text())
    paths = schema["paths"]
    for path in (
        "/api/v1/jobs",
        "/api/v1/jobs/{job_id}",
        "/api/v1/jobs/{job_id}/cancel",
        "/api/v1/generate",
        "/api/v1/uploads",
        "/api/v1/workflows",
        "/api/v1/workflows/{id_or_slug}",
        "/api/v1/me",
    ):
        assert path in paths, path
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "sk_live_…",
        "description": schema["components"]["securitySchemes"]["ApiKeyAuth"]["description"],
    }
    create = paths["/api/v1/jobs"]["post"]
    assert set(create["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert {"201", "400", "401", "403", "409", "429"} <= set(create["responses"])
    error = schema["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["$ref"].endswith("/ErrorDetail")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/schema/", "/api/v1/docs/", "/api/v1/redoc/"])
def test_the_docs_are_served(path):
    assert APIClient().get(path).status_code == 200
