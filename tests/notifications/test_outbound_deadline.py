"""The outbound guard's deadline bounds the whole exchange (connect, the
response's headers and its body), however slowly the server answers and
whatever it says about the connection (issue #17, item 4)."""

import pytest

from creator_site import netguard
from tests.standins.trickle import MODES, trickling_server

# A broken deadline shows as a hang: this mark turns it into a failure.
pytestmark = pytest.mark.timeout(30)


@pytest.fixture(params=MODES)
def trickler(request, settings):
    with trickling_server(request.param) as server:
        settings.OUTBOUND_ALLOWED_HOSTS = [server.host_port]
        yield server


def test_a_trickling_server_is_cut_off_at_the_deadline(trickler):
    with pytest.raises(
        netguard.OutboundTimeout, match=r"did not answer in time \(the limit is 2 seconds\)"
    ):
        netguard.safe_request("GET", trickler.url("/photo.png"), timeout=2)

    assert len(trickler.requests) == 1
    # The server saw the client hang up; it was not left sending to a
    # connection nobody reads.
    assert trickler.peer_closed.wait(10)


def test_the_deadline_also_bounds_a_post(trickler):
    with pytest.raises(netguard.OutboundTimeout):
        netguard.safe_request("POST", trickler.url("/hook"), body=b'{"a": 1}', timeout=2)
    assert trickler.peer_closed.wait(10)


def test_a_timeout_is_an_outbound_error_callers_already_handle():
    assert issubclass(netguard.OutboundTimeout, netguard.OutboundError)
    assert not issubclass(netguard.OutboundTimeout, netguard.UnsafeURL)
