"""Every file a prompt reports is an output: stills, animations, videos."""

from generations.comfyui_client import outputs_from_history
from tests.comfyui.replay import load


def _history_entry(scenario: str, label: str = "history") -> dict:
    for record in load(scenario):
        if record.get("kind") == "http" and record.get("label") == label:
            (entry,) = record["response"]["json"].values()
            return entry
    raise AssertionError(f"no {label!r} exchange in {scenario}")


def test_an_animated_webp_is_read_with_comfyuis_animated_flag():
    entry = _history_entry("n_animated_and_mask")
    (output,) = outputs_from_history(entry)
    assert output.filename.endswith(".webp")
    assert output.kind == "images"
    assert output.animated is True


def test_video_lists_and_several_saves_are_all_outputs():
    entry = {
        "outputs": {
            "9": {"images": [{"filename": "a_00001_.png", "subfolder": "", "type": "output"}]},
            "12": {"images": [{"filename": "b_00001_.png", "subfolder": "", "type": "output"}]},
            "20": {
                "gifs": [{"filename": "clip_00001.mp4", "subfolder": "", "type": "output"}],
                "text": ["not a file"],
            },
        }
    }
    outputs = outputs_from_history(entry)
    assert [(o.node_id, o.filename, o.kind) for o in outputs] == [
        ("9", "a_00001_.png", "images"),
        ("12", "b_00001_.png", "images"),
        ("20", "clip_00001.mp4", "gifs"),
    ]
    assert [o.animated for o in outputs] == [False, False, True]
