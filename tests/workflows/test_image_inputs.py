"""Inputs come from the graph: every LoadImage / LoadImageMask node is a named
image input of the schema, and a run fills each with its uploaded file."""

import copy
import json
from pathlib import Path

import pytest

from tests.workflows.factories import PORTRAIT_IMAGE_INPUT, PORTRAIT_PARAMETERS, preset_graph
from workflows.forms import parameters_form
from workflows.parameters import (
    ParameterValuesError,
    graph_compile,
    image_inputs_complete,
    image_inputs_for_upload,
    parameters_json_schema,
    workflow_image_inputs,
    workflow_problems,
)
from workflows.services import workflow_create, workflow_version_create

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(scope="module")
def object_info():
    return fixture("object_info_image_inputs.json")


def inputs_of(graph, parameters=()):
    return workflow_image_inputs(image_inputs_complete(graph=graph, parameters=[*parameters]))


def load_image(title=None, class_type="LoadImage"):
    node = {"class_type": class_type, "inputs": {"image": "example.png"}}
    if class_type == "LoadImageMask":
        node["inputs"]["channel"] = "alpha"
    if title is not None:
        node["_meta"] = {"title": title}
    return node


def with_save(nodes: dict) -> dict:
    return {**nodes, "99": {"class_type": "SaveImage", "inputs": {"images": ["1", 0]}}}


# --- names ----------------------------------------------------------------------


def test_inputs_are_named_and_labelled_from_their_titles():
    [photo, overlay] = inputs_of(fixture("two_inputs.json"))

    assert (photo.name, photo.label, photo.node_id) == ("photo", "Photo", "10")
    assert (overlay.name, overlay.label, overlay.node_id) == ("overlay", "Overlay", "11")
    assert photo.required and overlay.required
    assert (photo.form_field, overlay.form_field) == ("input_photo", "input_overlay")


def test_titles_are_slugified():
    graph = with_save({"1": load_image("Before / After"), "2": load_image("Référence 2")})

    assert [i.name for i in inputs_of(graph)] == ["before_after", "reference_2"]


@pytest.mark.parametrize(
    "title",
    [None, "Load Image", "  load image ", "2nd shot", "Фото", "!!!"],
    ids=["none", "comfy-default", "default-spaced", "digit-first", "no-latin", "punctuation"],
)
def test_a_node_without_a_usable_title_is_named_after_its_id(title):
    graph = with_save({"1": load_image("Photo"), "12": load_image(title)})

    assert [i.name for i in inputs_of(graph)] == ["photo", "image_12"]


def test_names_are_unique():
    twice = with_save({"1": load_image("Photo"), "2": load_image("Photo")})
    taken_fallback = with_save({"1": load_image("Image 2"), "2": load_image()})

    # A title already used falls back to the node id, and that one gets a suffix.
    assert [i.name for i in inputs_of(twice)] == ["photo", "image_2"]
    assert [i.name for i in inputs_of(taken_fallback)] == ["image_2", "image_2_2"]


def test_a_name_already_used_by_a_parameter_is_not_reused():
    graph = with_save({"1": load_image("Softening"), "2": load_image("Other")})
    softening = {**PORTRAIT_PARAMETERS[0], "node_id": "99", "node_input": "filename_prefix"}

    names = [i.name for i in inputs_of(graph, [softening])]

    assert names == ["image_1", "other"]


def test_the_only_input_is_named_image_whatever_its_id_and_title():
    graph = with_save({"42": load_image("Portrait photo")})
    graph["99"]["inputs"]["images"] = ["42", 0]

    [only] = inputs_of(graph)

    assert (only.name, only.label, only.node_id, only.required) == (
        "image",
        "Input image",
        "42",
        True,
    )


def test_completing_a_complete_schema_changes_nothing():
    schema = image_inputs_complete(graph=fixture("two_inputs.json"), parameters=[])

    assert image_inputs_complete(graph=fixture("two_inputs.json"), parameters=schema) is schema


def test_an_image_node_fed_by_a_link_is_not_an_input():
    graph = preset_graph()
    graph["7"] = {"class_type": "LoadImage", "inputs": {"image": ["6", 0]}}

    assert [i.node_id for i in inputs_of(graph)] == ["1"]


# --- masks ----------------------------------------------------------------------


def test_a_mask_input_records_its_channel(object_info):
    graph = fixture("image_and_mask.json")
    schema = image_inputs_complete(graph=graph, parameters=[])

    [image, mask] = workflow_image_inputs(schema)

    assert (image.name, image.channel) == ("image", None)
    assert (mask.name, mask.label, mask.channel) == ("mask", "Mask", "red")
    assert workflow_problems(graph=graph, parameters=schema, object_info=object_info) == []


def test_a_runs_mask_goes_in_with_the_schemas_channel():
    graph = fixture("image_and_mask.json")
    schema = image_inputs_complete(graph=graph, parameters=[])
    schema[1]["channel"] = "alpha"  # staff changed it in the schema

    compiled = graph_compile(
        graph=graph,
        parameters=schema,
        values={},
        inputs={"image": "creator/j/base.png", "mask": "creator/j/mask.png"},
    )

    assert compiled["1"]["inputs"]["image"] == "creator/j/base.png"
    assert compiled["2"]["inputs"] == {"image": "creator/j/mask.png", "channel": "alpha"}


def test_a_channel_is_only_for_mask_inputs():
    graph = fixture("image_and_mask.json")
    schema = image_inputs_complete(graph=graph, parameters=[])
    schema[0]["channel"] = "red"
    schema[1]["channel"] = "purple"

    found = [str(p) for p in workflow_problems(graph=graph, parameters=schema)]

    assert any("image input “image” has a “channel”, but only a LoadImageMask" in m for m in found)
    assert any("Parameter “mask”: “channel” is for image inputs of masks" in m for m in found)


# --- text-to-image ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_workflow_without_image_inputs_is_valid_and_runs_without_files(alice, object_info):
    graph = fixture("no_input.json")
    blur = {"name": "blur", "type": "integer", "min": 1, "max": 31, "default": 3}

    workflow = workflow_create(
        user=alice,
        name="No input",
        graph=graph,
        parameters=[{**blur, "node_id": "2", "node_input": "blur_radius"}],
        category="text-to-image",
        object_info=object_info,
    )

    assert workflow_image_inputs(workflow.parameters) == []
    assert image_inputs_for_upload(parameters=workflow.parameters, filename="x.png") == {}
    assert not any(f.startswith("input_") for f in parameters_form(workflow)().fields)
    compiled = graph_compile(graph=graph, parameters=workflow.parameters, values={"blur": 9})
    assert compiled["2"]["inputs"]["blur_radius"] == 9


# --- a run's files ----------------------------------------------------------------


def two_input_schema():
    return image_inputs_complete(graph=fixture("two_inputs.json"), parameters=[])


def test_each_file_goes_into_its_own_node():
    compiled = graph_compile(
        graph=fixture("two_inputs.json"),
        parameters=two_input_schema(),
        values={},
        inputs={"photo": "creator/j/photo.png", "overlay": "creator/j/overlay.png"},
    )

    assert compiled["10"]["inputs"]["image"] == "creator/j/photo.png"
    assert compiled["11"]["inputs"]["image"] == "creator/j/overlay.png"


def test_unknown_and_missing_inputs_are_refused_by_name():
    with pytest.raises(ParameterValuesError) as exc:
        graph_compile(
            graph=fixture("two_inputs.json"),
            parameters=two_input_schema(),
            values={},
            inputs={"photo": "a.png", "backdrop": "b.png"},
        )

    assert exc.value.errors == {
        "backdrop": ["Unknown image input. This workflow's image inputs: photo, overlay."],
        "overlay": ["Upload an image for “Overlay”: this workflow needs it."],
    }


def test_a_workflow_without_inputs_refuses_a_file_for_one():
    with pytest.raises(ParameterValuesError) as exc:
        graph_compile(
            graph=fixture("no_input.json"), parameters=[], values={}, inputs={"image": "a.png"}
        )

    assert exc.value.errors == {
        "image": ["Unknown image input. This workflow's image inputs: none."]
    }


def test_value_and_input_problems_are_reported_together():
    schema = [*PORTRAIT_PARAMETERS, PORTRAIT_IMAGE_INPUT]

    with pytest.raises(ParameterValuesError) as exc:
        graph_compile(
            graph=preset_graph(),
            parameters=schema,
            values={"softening": 7, "image": "someone/elses.png"},
            inputs={},
        )

    assert set(exc.value.errors) == {"softening", "image"}
    assert exc.value.errors["image"] == [
        "This is an image input: upload a file for it instead of giving a value.",
        "Upload an image for “Input image”: this workflow needs it.",
    ]


def test_an_empty_file_name_is_refused():
    with pytest.raises(ParameterValuesError) as exc:
        graph_compile(
            graph=preset_graph(),
            parameters=[PORTRAIT_IMAGE_INPUT],
            values={},
            inputs={"image": ""},
        )

    assert exc.value.errors == {"image": ["Give the name of an uploaded image."]}


def test_an_optional_input_left_out_keeps_the_graphs_file():
    schema = two_input_schema()
    schema[1]["required"] = False

    compiled = graph_compile(
        graph=fixture("two_inputs.json"), parameters=schema, values={}, inputs={"photo": "p.png"}
    )

    assert compiled["11"]["inputs"]["image"] == "rec/overlay.png"


def test_one_upload_goes_to_every_required_input():
    schema = two_input_schema()
    assert image_inputs_for_upload(parameters=schema, filename="u.png") == {
        "photo": "u.png",
        "overlay": "u.png",
    }
    schema[1]["required"] = False
    assert image_inputs_for_upload(parameters=schema, filename="u.png") == {"photo": "u.png"}
    assert image_inputs_for_upload(
        parameters=[*PORTRAIT_PARAMETERS, PORTRAIT_IMAGE_INPUT], filename="u.png"
    ) == {"image": "u.png"}


# --- the schema, the form, renaming -------------------------------------------------


@pytest.mark.django_db
def test_saving_a_workflow_adds_its_image_inputs_to_the_schema(alice):
    workflow = workflow_create(
        user=alice, name="Two", graph=fixture("two_inputs.json"), parameters=[]
    )

    assert [(p["name"], p["type"], p["node_id"]) for p in workflow.parameters] == [
        ("photo", "image", "10"),
        ("overlay", "image", "11"),
    ]
    assert workflow.versions.get().parameters == workflow.parameters


@pytest.mark.django_db
def test_users_can_rename_and_relabel_an_input(alice):
    workflow = workflow_create(
        user=alice, name="Portrait", graph=preset_graph(), parameters=PORTRAIT_PARAMETERS
    )
    renamed = copy.deepcopy(workflow.parameters)
    renamed[-1].update(name="portrait", label="Your portrait", required=True)

    version = workflow_version_create(workflow=workflow, user=alice, parameters=renamed)

    [only] = workflow_image_inputs(version.parameters)
    assert (only.name, only.label) == ("portrait", "Your portrait")
    form = parameters_form(workflow)()
    assert form.fields["input_portrait"].label == "Your portrait"
    assert "input_image" not in form.fields


def test_an_image_node_the_schema_does_not_name_is_a_problem():
    found = [str(p) for p in workflow_problems(graph=preset_graph(), parameters=[])]

    assert found == [
        "Node 1 (LoadImage), input “image”: this node loads an image, so it is an image "
        "input, but the schema does not name it. Add an “image” entry for it (saving the "
        "workflow adds one)."
    ]


def test_a_parameter_may_not_take_an_inputs_form_field():
    schema = [
        *two_input_schema(),
        {"name": "input_photo", "type": "text", "node_id": "13", "node_input": "filename_prefix"},
    ]

    found = [str(p) for p in workflow_problems(graph=fixture("two_inputs.json"), parameters=schema)]

    assert found == [
        "Parameter “input_photo” has the name of image input “photo”’s upload field; "
        "rename one of them."
    ]


def test_the_run_form_has_an_upload_per_input():
    class Version:
        parameters = image_inputs_complete(graph=fixture("image_and_mask.json"), parameters=[])

    Version.parameters[1]["required"] = False

    fields = parameters_form(Version)().fields

    assert list(fields) == ["input_image", "input_mask"]
    assert fields["input_image"].required and not fields["input_mask"].required
    assert fields["input_mask"].help_text == "JPEG, PNG, WebP or GIF. Its red channel is the mask."


def test_the_json_schema_describes_the_inputs():
    schema = parameters_json_schema(
        image_inputs_complete(graph=fixture("image_and_mask.json"), parameters=[])
    )

    assert schema["properties"] == {}
    assert schema["x-creator-image-parameters"] == ["image", "mask"]
    assert schema["x-creator-image-inputs"] == [
        {"name": "image", "title": "Image", "required": True},
        {"name": "mask", "title": "Mask", "required": True, "channel": "red"},
    ]
