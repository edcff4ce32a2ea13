"""Property-based run over the published OpenAPI schema: whatever
schemathesis sends to each operation, the API never answers 5xx."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error

from creator_site.wsgi import application
from tests.factories import ApiKeyFactory, UserFactory

# /generate closes its database connection while it waits (so a waiting
# request holds none); that cannot run inside a test's transaction. Its
# body is parsed by the same code as POST /jobs, which is fuzzed here.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application).exclude(
    path_regex=r"/generate$"
)


@pytest.fixture(autouse=True)
def _keep_the_test_transaction():
    # Like Django's test client: a request must not close the connection that
    # holds the test's transaction (Django closes one found mid-transaction).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def auth_headers(db):
    api_key = ApiKeyFactory(
        user=UserFactory(), scopes=["generate", "jobs:read", "jobs:write", "workflows:read"]
    )
    return {"Authorization": f"Bearer {api_key.full_key}"}


@schema.parametrize()
@hypothesis_settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_operation_answers_a_server_error(case, auth_headers, settings):
    # Generous limits: this test is about 5xx, not about being throttled.
    settings.API_REQUEST_RATES = {
        "free": "100000/min",
        "creator": "100000/min",
        "studio": "100000/min",
    }
    response = case.call(headers=auth_headers)
    case.validate_response(response, checks=[not_a_server_error])
