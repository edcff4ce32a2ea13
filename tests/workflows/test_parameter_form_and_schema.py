"""The schema generates the run form and the API's JSON Schema."""

import jsonschema
import pytest

from workflows.forms import parameters_form
from workflows.parameters import INPUT_IMAGE_FIELD, graph_compile, parameters_json_schema
from workflows.selectors import preset_get


@pytest.mark.django_db
def test_the_run_form_is_typed_and_bounded():
    cinematic = preset_get(slug="cinematic")
    form_class = parameters_form(cinematic)
    form = form_class(data={"grade": "14254635", "grade_strength": "0.7", "colours": "300"})
    assert not form.is_valid()
    assert set(form.errors) == {"colours", INPUT_IMAGE_FIELD}

    form = form_class(data={"grade": "14254635", "grade_strength": "0.7", "colours": "64"})
    form.is_valid()
    values = {k: v for k, v in form.cleaned_data.items() if k != INPUT_IMAGE_FIELD}
    assert values["grade"] == 14254635
    graph = graph_compile(
        graph=cinematic.workflow_json,
        parameters=cinematic.parameters,
        values=values,
        inputs={"image": "u.png"},
    )
    assert graph["3"]["inputs"]["color"] == 14254635
    assert graph["5"]["inputs"]["colors"] == 64


@pytest.mark.django_db
def test_the_json_schema_validates_good_values_and_rejects_bad_ones():
    product = preset_get(slug="product_glow")
    schema = parameters_json_schema(product.parameters)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"glow_strength": 0.3, "width": 1200, "background": "black"})
    assert not validator.is_valid({"glow_strength": 3})
    assert not validator.is_valid({"width": 10.5})
    assert not validator.is_valid({"background": "pink"})
    assert not validator.is_valid({"denoise": 1})
    assert schema["properties"]["width"]["minimum"] == 256


def test_seed_and_image_parameters_in_the_json_schema():
    schema = parameters_json_schema(
        [
            {"name": "seed", "type": "seed", "node_id": "1", "node_input": "x"},
            {"name": "photo", "type": "image", "node_id": "1", "node_input": "image"},
            {"name": "prompt", "type": "text", "required": True, "node_id": "2", "node_input": "t"},
        ]
    )
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["seed"]["type"] == ["integer", "null"]
    assert "photo" not in schema["properties"]
    assert schema["x-creator-image-parameters"] == ["photo"]
    assert schema["required"] == ["prompt"]
