"""The development server answers recorded real-ComfyUI sessions the same way.

Each scenario is replayed against a fresh server; status codes, JSON shapes
(keys and value types; volatile values ignored) and the order of websocket
message types must match the recording.
"""

import pytest

from generations.comfyui_client import ComfyUIClient
from tests.comfyui.helpers import image_bytes, preset
from tests.comfyui.replay import Replay, shape_diff
from tests.standins.comfyui import DevComfyServer

SCENARIOS = [
    "a_upload_run_portrait_pro",
    "a_upload_run_product_glow",
    "a_upload_run_cinematic",
    "a2_upload_variants",
    "b_validation_errors",
    "c_execution_error",
    "e_queue",
    "f_two_clients",
    "g_misc_gets",
    "h_late_ws_and_reconnect",
    "j_cache_resubmit",
    "k_output_subfolder",
    "l_no_input_and_two_inputs",
    "m_missing_models",
    "n_animated_and_mask",
]
# What the recording server had installed (see PROTOCOL.md); nothing otherwise.
SCENARIO_MODELS = {"g_misc_gets": {"upscale_models": ["random_compact_x2.safetensors"]}}


@pytest.fixture
def replay_server(tmp_path, scenario):
    # Slow enough that a prompt is still running while the recorded requests
    # about it (queue listing, delete, reconnect) are replayed.
    server = DevComfyServer(
        port=0,
        data_dir=tmp_path / "comfy",
        node_delay=0.06,
        max_upload_size=4 * 1024 * 1024,
        models=SCENARIO_MODELS.get(scenario),
    ).start()
    yield server
    server.stop()


def exchange_problems(exchange) -> list[str]:
    recorded = exchange.record["response"]
    request = exchange.record["request"]
    where = f"{request['method']} {request['path']} [{exchange.record.get('label', '')}]"
    if exchange.status != recorded["status"]:
        return [f"{where}: status {exchange.status}, recorded {recorded['status']}"]
    if "json" in recorded:
        if not exchange.content_type.startswith("application/json"):
            return [f"{where}: content type {exchange.content_type}"]
        if request["path"] in ("/history", "/api/history"):
            # Whole-history listings hold whatever ran before; compare entry keys only.
            entries = list(recorded["json"].values()) + list(exchange.json().values())
            keys = {tuple(sorted(entry)) for entry in entries}
            return [] if len(keys) == 1 else [f"{where}: history entries differ: {keys}"]
        return [f"{where}: {diff}" for diff in shape_diff(recorded["json"], exchange.json())]
    if "text" in recorded:
        ok = exchange.content_type.startswith("text/plain") and exchange.body
        return [] if ok else [f"{where}: expected a text body, got {exchange.content_type}"]
    if "binary" in recorded:
        binary = recorded["binary"]
        problems = []
        if exchange.content_type.split(";")[0] != binary["content_type"]:
            problems.append(f"{where}: content type {exchange.content_type}")
        if exchange.body[:4].hex() != binary["first8_hex"][:8]:
            problems.append(f"{where}: magic bytes {exchange.body[:8].hex()}")
        return problems
    if recorded.get("empty") and exchange.body:
        return [f"{where}: expected an empty body, got {exchange.body[:60]!r}"]
    return []


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_it_answers_like_the_recorded_server(replay_server, scenario):
    if scenario in ("g_misc_gets", "k_output_subfolder"):
        # The recording was made on a server with history; give ours some.
        with ComfyUIClient(replay_server.url) as client:
            name = client.upload_image(image_bytes(), "seed.jpg", subfolder="")
            client.run(preset("portrait_pro", name))
            client.run(preset("cinematic", name))

    replay = Replay(replay_server, scenario).run()

    assert replay.exchanges
    assert set(replay.recorded_ws) <= set(replay.sockets)
    problems = [p for exchange in replay.exchanges for p in exchange_problems(exchange)]
    for name in replay.sockets:
        recorded, ours = replay.ws_types(name)
        if name == "socket_2nd_same_clientId":
            # Reconnected mid-run: status, then the `executing` hint, then the rest of
            # the run; where exactly it rejoins depends on timing.
            assert ours[:2] == recorded[:2] == ["status", "executing"]
            tail = min(len(recorded), len(ours)) - 2
            recorded, ours = recorded[-tail:], ours[-tail:]
        # `status` is broadcast from HTTP handlers and the worker alike, so where it
        # falls between a prompt's own messages is a race; its count is not.
        recorded_run = [kind for kind in recorded if kind != "status"]
        ours_run = [kind for kind in ours if kind != "status"]
        if recorded_run != ours_run:
            problems.append(f"ws {name}: recorded {recorded_run}\n  ours {ours_run}")
        if recorded.count("status") != ours.count("status"):
            counts = (ours.count("status"), recorded.count("status"))
            problems.append(f"ws {name}: {counts[0]} status messages, recorded {counts[1]}")
    assert not problems, "\n".join(problems)
