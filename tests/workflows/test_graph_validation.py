"""graph_problems rejects anything ComfyUI would refuse, naming the node and input."""

import pytest

from tests.workflows.factories import preset_graph
from workflows.graph import GraphValidationError, graph_problems, graph_validate


def messages(graph, **kwargs):
    return [str(p) for p in graph_problems(graph, **kwargs)]


def test_a_preset_graph_has_no_problems(object_info):
    assert graph_problems(preset_graph(), object_info=object_info) == []


def test_a_ui_format_export_gets_instructions_for_the_api_format():
    ui_export = {
        "last_node_id": 9,
        "last_link_id": 9,
        "nodes": [{"id": 1, "type": "LoadImage", "inputs": [], "widgets_values": ["a.png"]}],
        "links": [[1, 1, 0, 2, 0, "IMAGE"]],
        "version": 0.4,
    }
    [message] = messages(ui_export)
    assert "API format" in message
    assert "Export (API)" in message
    assert "Dev mode" in message


def test_a_dangling_link_names_the_node():
    graph = preset_graph()
    graph["4"]["inputs"]["image"] = ["99", 0]
    [message] = messages(graph)
    assert message.startswith("Node 4 (ImageSharpen), input “image”")
    assert "node 99, which is not in the workflow" in message


def test_a_link_to_a_missing_output_index_names_the_node(object_info):
    graph = preset_graph()
    graph["4"]["inputs"]["image"] = ["3", 1]
    [message] = messages(graph, object_info=object_info)
    assert "Node 4 (ImageSharpen)" in message
    assert "output 1 of node 3 (ImageBlend), which has only 1 output" in message


def test_a_link_of_the_wrong_type_is_rejected(object_info):
    graph = preset_graph()
    graph["4"]["inputs"]["image"] = ["1", 1]  # LoadImage's MASK output
    [message] = messages(graph, object_info=object_info)
    assert "Node 4 (ImageSharpen)" in message and "produces MASK" in message


def test_a_graph_without_an_output_node_is_rejected(object_info):
    graph = preset_graph()
    del graph["6"]
    [message] = messages(graph, object_info=object_info)
    assert "no output node" in message


def test_an_unknown_class_type_names_the_node(object_info):
    graph = preset_graph()
    graph["4"]["class_type"] = "UltimateSDUpscale"
    [message] = messages(graph, object_info=object_info)
    assert message.startswith("Node 4 (UltimateSDUpscale)")
    assert "not installed" in message


def test_a_missing_required_input_names_node_and_input(object_info):
    graph = preset_graph()
    del graph["4"]["inputs"]["alpha"]
    [message] = messages(graph, object_info=object_info)
    assert message == "Node 4 (ImageSharpen), input “alpha”: is required but missing."


def test_an_out_of_range_value_names_node_and_input(object_info):
    graph = preset_graph()
    graph["3"]["inputs"]["blend_factor"] = 1.5
    graph["2"]["inputs"]["blur_radius"] = 0
    found = messages(graph, object_info=object_info)
    assert "Node 3 (ImageBlend), input “blend_factor”: 1.5 is above the maximum 1.0." in found
    assert "Node 2 (ImageBlur), input “blur_radius”: 0 is below the minimum 1." in found


def test_values_outside_option_lists_are_rejected_legacy_and_v3(object_info):
    graph = preset_graph()
    graph["5"]["inputs"]["upscale_method"] = "magic"  # legacy [[options]]
    graph["3"]["inputs"]["blend_mode"] = "glow"  # V3 ["COMBO", {"options": ...}]
    found = messages(graph, object_info=object_info)
    assert len(found) == 2
    assert any(m.startswith("Node 5 (ImageScaleBy), input “upscale_method”") for m in found)
    assert any(m.startswith("Node 3 (ImageBlend), input “blend_mode”") for m in found)


def test_load_image_file_names_are_not_checked_against_the_live_file_list(object_info):
    graph = preset_graph()
    graph["1"]["inputs"]["image"] = "someone_uploaded_this.jpg"
    assert messages(graph, object_info=object_info) == []


def test_wrong_value_types_are_rejected(object_info):
    graph = preset_graph()
    graph["2"]["inputs"]["blur_radius"] = "four"
    graph["2"]["inputs"]["sigma"] = True
    graph["4"]["inputs"]["image"] = "not a link"
    found = messages(graph, object_info=object_info)
    assert len(found) == 3
    assert any(
        "Node 2 (ImageBlur), input “blur_radius”: must be a whole number" in m for m in found
    )
    assert any("input “sigma”" in m for m in found)
    assert any("Node 4 (ImageSharpen), input “image”: expects a link" in m for m in found)


def test_nodes_without_class_type_or_inputs_are_rejected():
    graph = preset_graph()
    graph["7"] = {"inputs": {}}
    graph["8"] = {"class_type": "ImageBlur"}
    found = messages(graph)
    assert "Node 7: has no “class_type” (the ComfyUI node type)." in found
    assert "Node 8 (ImageBlur): has no “inputs” object." in found


def test_a_loop_of_links_is_rejected():
    graph = preset_graph()
    graph["2"]["inputs"]["image"] = ["4", 0]
    [message] = messages(graph)
    assert "loop" in message


def test_every_problem_is_collected_not_just_the_first(object_info):
    graph = preset_graph()
    graph["2"]["inputs"]["blur_radius"] = 99
    graph["3"]["class_type"] = "Nope"
    graph["4"]["inputs"]["image"] = ["77", 0]
    with pytest.raises(GraphValidationError) as exc:
        graph_validate(graph, object_info=object_info)
    assert len(exc.value.problems) == 3
    assert {p.node_id for p in exc.value.problems} == {"2", "3", "4"}


def test_links_use_string_node_ids_like_comfyui():
    graph = preset_graph()
    graph["4"]["inputs"]["image"] = [3, 0]
    [message] = messages(graph)
    assert message.startswith("Node 4 (ImageSharpen), input “image”")


def test_overlong_node_titles_are_rejected():
    graph = preset_graph()
    graph["2"]["_meta"]["title"] = "t" * 1000
    [message] = messages(graph)
    assert message.startswith("Node 2 (ImageBlur)") and "title" in message
