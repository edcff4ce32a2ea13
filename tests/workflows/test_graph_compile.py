"""graph_compile writes values into a copy of the graph and rejects bad values per field."""

import copy

import pytest

from tests.workflows.factories import (
    PORTRAIT_IMAGE_INPUT,
    PORTRAIT_PARAMETERS,
    WorkflowFactory,
    preset_graph,
)
from workflows.parameters import ParameterValuesError, graph_compile, parameters_resolve

SEEDED = [
    *PORTRAIT_PARAMETERS,
    {"name": "seed", "type": "seed", "node_id": "2", "node_input": "blur_radius", "max": 31},
    {"name": "prefix", "type": "text", "node_id": "6", "node_input": "filename_prefix"},
    {
        "name": "method",
        "type": "choice",
        "choices": ["lanczos", "bicubic"],
        "default": "lanczos",
        "node_id": "5",
        "node_input": "upscale_method",
    },
    {
        "name": "steps",
        "type": "integer",
        "min": 1,
        "max": 31,
        "required": True,
        "node_id": "2",
        "node_input": "sigma",
    },
]


def compile_(values, parameters=PORTRAIT_PARAMETERS, inputs=None):
    return graph_compile(graph=preset_graph(), parameters=parameters, values=values, inputs=inputs)


def test_values_land_in_their_node_inputs():
    graph = compile_(
        {"softening": 0.6, "sharpen": 1.25},
        parameters=[*PORTRAIT_PARAMETERS, PORTRAIT_IMAGE_INPUT],
        inputs={"image": "upload_42.png"},
    )
    assert graph["3"]["inputs"]["blend_factor"] == 0.6
    assert graph["4"]["inputs"]["alpha"] == 1.25
    assert graph["1"]["inputs"]["image"] == "upload_42.png"
    # Links and untouched inputs are kept.
    assert graph["3"]["inputs"]["image1"] == ["1", 0]
    assert graph["5"]["inputs"]["scale_by"] == 1.5


@pytest.mark.django_db
def test_the_stored_workflow_is_unchanged_afterwards(alice):
    workflow = WorkflowFactory(owner=alice)
    before = copy.deepcopy(workflow.workflow_json)
    graph_compile(
        graph=workflow.workflow_json,
        parameters=workflow.parameters,
        values={"softening": 0.9},
        inputs={"image": "x.png"},
    )
    assert workflow.workflow_json == before
    workflow.refresh_from_db()
    assert workflow.workflow_json == before
    assert workflow.workflow_json["1"]["inputs"]["image"] == "INPUT_FILENAME"


def test_defaults_apply_when_values_are_missing():
    graph = compile_({})
    assert graph["3"]["inputs"]["blend_factor"] == 0.35
    assert graph["4"]["inputs"]["alpha"] == 0.8


def test_an_empty_seed_becomes_a_random_one_within_bounds():
    seeds = {
        parameters_resolve(parameters=SEEDED, values={"seed": None, "steps": 3})["seed"]
        for _ in range(20)
    }
    assert all(isinstance(s, int) and 0 <= s <= 31 for s in seeds)
    assert len(seeds) > 1
    graph = compile_({"seed": "", "steps": 3}, parameters=SEEDED)
    assert 0 <= graph["2"]["inputs"]["blur_radius"] <= 31


def test_a_given_seed_is_kept():
    graph = compile_({"seed": 7, "steps": 3}, parameters=SEEDED)
    assert graph["2"]["inputs"]["blur_radius"] == 7


def test_out_of_range_values_are_rejected_per_field():
    with pytest.raises(ParameterValuesError) as exc:
        compile_({"softening": 1.5, "sharpen": -1})
    assert set(exc.value.errors) == {"softening", "sharpen"}
    assert "at most 1" in exc.value.errors["softening"][0]
    assert "at least 0" in exc.value.errors["sharpen"][0]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("softening", "ten"),
        ("softening", True),
        ("softening", [0.5]),
        ("softening", {"value": 0.5}),
        ("softening", float("nan")),
        ("steps", True),
        ("steps", 2.5),
        ("prefix", 12),
        ("prefix", ["a"]),
        ("method", "nearest"),
        ("seed", "abc"),
    ],
)
def test_wrong_types_are_rejected_per_field(name, value):
    with pytest.raises(ParameterValuesError) as exc:
        compile_({name: value, "steps": 3} if name != "steps" else {name: value}, parameters=SEEDED)
    assert list(exc.value.errors) == [name]


def test_numeric_text_from_forms_is_accepted():
    graph = compile_({"softening": "0.5", "steps": "4"}, parameters=SEEDED)
    assert graph["3"]["inputs"]["blend_factor"] == 0.5
    assert graph["2"]["inputs"]["sigma"] == 4


def test_unknown_parameters_are_rejected():
    with pytest.raises(ParameterValuesError) as exc:
        compile_({"softening": 0.5, "denoise": 0.3})
    assert list(exc.value.errors) == ["denoise"]
    assert "Unknown parameter" in exc.value.errors["denoise"][0]


def test_a_missing_required_value_is_rejected():
    with pytest.raises(ParameterValuesError) as exc:
        compile_({}, parameters=SEEDED)
    assert exc.value.errors == {"steps": ["This field is required."]}


def test_all_problems_are_reported_together():
    with pytest.raises(ParameterValuesError) as exc:
        compile_({"softening": "ten", "sharpen": 9, "nope": 1})
    assert set(exc.value.errors) == {"softening", "sharpen", "nope"}


def test_an_image_input_receives_its_uploaded_name():
    parameters = [{"name": "photo", "type": "image", "node_id": "1", "node_input": "image"}]
    graph = compile_({}, parameters=parameters, inputs={"photo": "in/abc.png"})
    assert graph["1"]["inputs"]["image"] == "in/abc.png"
