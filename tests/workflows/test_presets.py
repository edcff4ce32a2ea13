"""The shipped presets are valid, compile, and load idempotently."""

import importlib

import pytest
from django.core.management import call_command

from workflows.forms import parameters_form
from workflows.graph import graph_problems
from workflows.models import Workflow, WorkflowVersion
from workflows.parameters import graph_compile, workflow_problems
from workflows.preset_sync import presets_read, presets_sync

SLUGS = {"portrait_pro", "product_glow", "cinematic"}


@pytest.mark.django_db
def test_the_data_migration_loads_the_three_presets():
    from django.apps import apps

    migration = importlib.import_module("workflows.migrations.0002_load_presets")
    Workflow.objects.filter(owner__isnull=True).delete()
    migration.load_presets(apps, None)

    presets = Workflow.objects.filter(owner__isnull=True)
    assert set(presets.values_list("slug", flat=True)) >= SLUGS
    for preset in presets.filter(slug__in=SLUGS):
        assert preset.visibility == Workflow.Visibility.PUBLIC
        assert preset.is_template is True
        assert preset.estimated_credits >= 1
        assert preset.versions.count() == 1
        assert len(preset.parameters) >= 3


@pytest.mark.parametrize("preset", presets_read(), ids=lambda p: p["slug"])
def test_each_preset_validates_against_the_recorded_object_info(preset, object_info):
    problems = workflow_problems(
        graph=preset["workflow_json"], parameters=preset["parameters"], object_info=object_info
    )
    assert problems == []


@pytest.mark.parametrize("preset", presets_read(), ids=lambda p: p["slug"])
def test_each_preset_compiles_with_defaults_and_validates(preset, object_info):
    graph = graph_compile(
        graph=preset["workflow_json"],
        parameters=preset["parameters"],
        values={},
        inputs={"image": "upload.png"},
    )
    assert graph["1"]["inputs"]["image"] == "upload.png"
    assert graph_problems(graph, object_info=object_info) == []


def test_preset_extremes_still_validate(object_info):
    for preset in presets_read():
        for pick in ("min", "max"):
            values = {p["name"]: p[pick] for p in preset["parameters"] if pick in p}
            graph = graph_compile(
                graph=preset["workflow_json"],
                parameters=preset["parameters"],
                values=values,
                inputs={"image": "u.png"},
            )
            assert graph_problems(graph, object_info=object_info) == [], (preset["slug"], pick)


def test_cinematic_grades_write_a_colour_into_the_tint_plate():
    cinematic = next(p for p in presets_read() if p["slug"] == "cinematic")
    graph = graph_compile(
        graph=cinematic["workflow_json"],
        parameters=cinematic["parameters"],
        values={"grade": "14254635", "grade_strength": 0.6},
        inputs={"image": "u.png"},
    )
    assert graph["3"]["inputs"]["color"] == 0xD9822B
    assert graph["4"]["inputs"]["blend_factor"] == 0.6


@pytest.mark.django_db
def test_each_preset_renders_a_run_form():
    for preset in Workflow.objects.filter(owner__isnull=True, slug__in=SLUGS):
        form = parameters_form(preset)()
        assert "input_image" in form.fields
        for param in preset.parameters:
            if param["type"] != "image":
                assert param["name"] in form.fields


@pytest.mark.django_db
def test_load_presets_twice_is_idempotent():
    call_command("load_presets")
    versions = WorkflowVersion.objects.count()
    workflows = Workflow.objects.count()
    call_command("load_presets")
    assert presets_sync() == {slug: "unchanged" for slug in SLUGS}
    assert WorkflowVersion.objects.count() == versions
    assert Workflow.objects.count() == workflows


@pytest.mark.django_db
def test_a_changed_preset_gets_a_new_linked_version(tmp_path):
    preset_dir = tmp_path / "presets"
    preset_dir.mkdir()
    from workflows.preset_sync import PRESETS_DIR

    for path in PRESETS_DIR.iterdir():
        (preset_dir / path.name).write_text(path.read_text())
    presets_sync()
    portrait = Workflow.objects.get(owner__isnull=True, slug="portrait_pro")
    before = portrait.current_version

    text = (preset_dir / "portrait_pro.json").read_text().replace('"alpha": 0.8', '"alpha": 0.9')
    (preset_dir / "portrait_pro.json").write_text(text)
    outcome = presets_sync(directory=preset_dir)

    assert outcome["portrait_pro"] == "updated"
    assert outcome["cinematic"] == "unchanged"
    portrait.refresh_from_db()
    latest = portrait.current_version
    assert latest.number == before.number + 1
    assert latest.parent == before
    assert latest.workflow_json["4"]["inputs"]["alpha"] == 0.9
    before.refresh_from_db()
    assert before.workflow_json["4"]["inputs"]["alpha"] == 0.8
    assert portrait.workflow_json["4"]["inputs"]["alpha"] == 0.9
