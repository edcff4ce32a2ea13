"""An image_url whose server answers one byte a second is given up on at
IMAGE_URL_TIMEOUT: the API answers 400 and creates no job (issue #17, item 4)."""

import pytest

from tests.api.conftest import assert_error, job_count
from tests.standins.trickle import trickling_server

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(30)]


@pytest.mark.parametrize("mode", ["body_close", "body_until_close", "headers"])
def test_a_trickling_image_server_is_given_up_on_at_the_image_url_timeout(
    alice_api, preset_workflows, settings, mode
):
    settings.IMAGE_URL_TIMEOUT = 2
    with trickling_server(mode) as server:
        settings.OUTBOUND_ALLOWED_HOSTS = [server.host_port]

        response = alice_api.post(
            "/api/v1/jobs",
            {"workflow": "portrait_pro", "image_url": server.url("/photo.png")},
            format="json",
        )

        error = assert_error(response, 400, "unreachable_url")
        assert "did not answer in time (the limit is 2 seconds)" in error["details"]["image_url"][0]
        assert server.peer_closed.wait(10)
    assert job_count() == 0
