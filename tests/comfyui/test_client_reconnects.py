"""A lost websocket never loses a result: reconnect with the same client id, or /history."""

from generations.comfyui_client import ComfyUIClient
from tests.comfyui.helpers import image_bytes, preset, slow_chain


def test_a_socket_dropped_mid_run_still_completes(comfy, comfy_server):
    comfy_server.knobs.node_delay = 0.05
    comfy_server.knobs.drop_ws_after = 9  # a few nodes into the run
    image = comfy.upload_image(image_bytes(), "in.jpg", subfolder="j")
    seen = []

    result = comfy.run(slow_chain(image), prompt_id="dropped", on_progress=seen.append)

    assert [o.filename for o in result.outputs] == ["slow_chain_00001_.png"]
    assert comfy_server.knobs.drop_ws_after is None  # the drop did happen
    assert seen[-1].percent == 100
    percents = [p.percent for p in seen]
    assert percents == sorted(percents)


def test_a_socket_dropped_repeatedly_still_completes(comfy, comfy_server):
    comfy_server.knobs.node_delay = 0.03
    comfy_server.knobs.drop_ws_after = 4
    comfy_server.knobs.drop_ws_repeat = True
    image = comfy.upload_image(image_bytes(), "in.jpg", subfolder="j")

    result = comfy.run(slow_chain(image), prompt_id="flaky")

    assert result.outputs


def test_a_run_that_finished_while_disconnected_is_read_from_history(comfy_server):
    with ComfyUIClient(comfy_server.url) as client:
        image = client.upload_image(image_bytes(), "in.jpg", subfolder="j")
        client.queue_prompt(preset("product_glow", image), prompt_id="gone-quiet")
        client.follow("gone-quiet", total_nodes=6)  # no socket was open while it ran

        late = ComfyUIClient(comfy_server.url, client_id=client.client_id)
        with late:
            result = late.follow("gone-quiet", total_nodes=6)
        assert result.outputs[0].filename == "product_glow_00001_.png"
