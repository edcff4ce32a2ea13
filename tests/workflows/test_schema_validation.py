"""workflow_problems: a parameter schema must fit the graph it writes into."""

import copy

import pytest

from tests.workflows.factories import PORTRAIT_IMAGE_INPUT, PORTRAIT_PARAMETERS, preset_graph
from workflows.parameters import workflow_problems


def messages(graph, parameters, **kwargs):
    return [str(p) for p in workflow_problems(graph=graph, parameters=parameters, **kwargs)]


def portrait_schema():
    """The portrait's parameters and its image input, as a saved workflow has them."""
    return copy.deepcopy([*PORTRAIT_PARAMETERS, PORTRAIT_IMAGE_INPUT])


def test_a_parameter_target_that_does_not_exist_is_rejected():
    parameters = portrait_schema()
    parameters[0]["node_id"] = "42"
    parameters[1]["node_input"] = "strength"
    found = messages(preset_graph(), parameters)
    assert (
        "Node 42: parameter “softening” targets this node, which is not in the workflow." in found
    )
    assert any(m.startswith("Node 4 (ImageSharpen), input “strength”") for m in found)


def test_a_schema_targeting_one_input_twice_is_rejected():
    parameters = portrait_schema()
    parameters[1].update(node_id="3", node_input="blend_factor")
    [message] = messages(preset_graph(), parameters)
    assert message.startswith("Node 3 (ImageBlend), input “blend_factor”")
    assert "“softening” and “sharpen” both write to this input" in message


def test_a_parameter_may_not_target_a_link():
    parameters = [
        {"name": "img", "type": "text", "node_id": "3", "node_input": "image1"},
        PORTRAIT_IMAGE_INPUT,
    ]
    [message] = messages(preset_graph(), parameters)
    assert "Node 3 (ImageBlend), input “image1”" in message and "link" in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"name": "Bad Name"}, "the name must start with a lowercase letter"),
        ({"type": "colour"}, "the type must be one of"),
        ({"default": 3}, "the default is invalid"),
        ({"default": "high"}, "the default is invalid"),
        ({"min": 2, "max": 1}, "“min” is larger than “max”"),
        ({"label": "x" * 500}, "the label must be text of at most"),
    ],
)
def test_a_malformed_parameter_is_rejected(change, expected):
    parameters = portrait_schema()
    parameters[0].update(change)
    found = messages(preset_graph(), parameters)
    assert any(expected in m for m in found), found


def test_duplicate_parameter_names_are_rejected():
    parameters = portrait_schema()
    parameters[1]["name"] = "softening"
    assert "Parameter “softening” is defined twice." in messages(
        preset_graph(), parameters=parameters
    )


def test_parameter_bounds_must_fit_the_node_input(object_info):
    parameters = portrait_schema()
    parameters[1]["max"] = 10  # ImageSharpen alpha accepts at most 5
    [message] = messages(preset_graph(), parameters, object_info=object_info)
    assert message.startswith("Node 4 (ImageSharpen), input “alpha”")
    assert "at most 5" in message


def test_a_graph_that_cannot_be_read_gives_only_its_own_problem():
    ui_export = {"nodes": [], "links": []}

    [message] = messages(ui_export, PORTRAIT_PARAMETERS)

    assert "UI export" in message
