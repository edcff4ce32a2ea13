"""Cancelling: interrupt what runs, delete what waits."""

import threading
import time

import pytest

from generations.comfyui_client import ComfyInterrupted, ComfyUIClient
from tests.comfyui.helpers import image_bytes, preset, slow_chain


def test_interrupting_a_running_prompt_ends_its_follow(comfy, comfy_server):
    comfy_server.knobs.node_delay = 0.15
    image = comfy.upload_image(image_bytes(), "in.jpg", subfolder="j")
    timer = threading.Timer(0.4, comfy_server_interrupt, args=(comfy_server.url, "victim"))
    timer.start()

    with pytest.raises(ComfyInterrupted) as caught:
        comfy.run(slow_chain(image), prompt_id="victim")

    timer.join()
    assert caught.value.transient is False
    assert caught.value.node_id not in (None, "1")
    status = comfy.history("victim")["status"]
    assert (status["status_str"], status["completed"]) == ("error", False)


def comfy_server_interrupt(url, prompt_id):
    with ComfyUIClient(url) as other:
        other.interrupt(prompt_id)


def test_an_interrupt_naming_another_prompt_changes_nothing(comfy, comfy_server):
    comfy_server.knobs.node_delay = 0.02
    image = comfy.upload_image(image_bytes(), "in.jpg", subfolder="j")
    comfy.connect()
    comfy.queue_prompt(preset("portrait_pro", image), prompt_id="keeps-running")
    comfy.interrupt("someone-else")
    assert comfy.follow("keeps-running", total_nodes=6).outputs


def test_deleting_a_pending_prompt_removes_it(comfy, comfy_server):
    comfy_server.knobs.node_delay = 0.1
    image = comfy.upload_image(image_bytes(), "in.jpg", subfolder="j")
    comfy.connect()
    comfy.queue_prompt(slow_chain(image), prompt_id="blocker")
    comfy.queue_prompt(preset("portrait_pro", image), prompt_id="waiting")
    assert comfy.queue_depth() == 2

    comfy.delete_queued("waiting")

    assert comfy.queue_depth() == 1
    comfy.interrupt("blocker")
    with pytest.raises(ComfyInterrupted):
        comfy.follow("blocker", total_nodes=10)
    time.sleep(0.1)
    assert comfy.history("waiting") is None
    assert comfy.queue_depth() == 0
