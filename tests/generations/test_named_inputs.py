"""Jobs with several named image inputs, or none (text-to-image), through
the real pipeline: a Celery worker and the development ComfyUI server given
the templates' models."""

import pytest
from django.core.files.storage import default_storage

from generations.images import InvalidImage
from generations.models import Asset, Generation
from generations.services import InputFile, generation_create
from tests.comfyui.helpers import template, template_models
from tests.factories import UserFactory
from tests.generations.conftest import png_bytes, wait_for_status
from tests.generations.factories import ComfyServerFactory
from tests.standins.comfyui.server import DevComfyServer
from workflows.parameters import ParameterValuesError
from workflows.services import workflow_create

Status = Generation.Status
FINAL = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)
pytestmark = pytest.mark.django_db(transaction=True)


def template_workflow(user, slug):
    entry = template(slug)
    return workflow_create(
        user=user,
        name=entry["name"],
        graph=entry["workflow_json"],
        parameters=entry["parameters"],
        category=entry["category"],
    )


@pytest.fixture
def template_server(tmp_path):
    models: dict[str, list[str]] = {}
    for slug in ("sdxl_text", "inpaint"):
        for folder, names in template_models(template(slug)).items():
            models.setdefault(folder, []).extend(names)
    server = DevComfyServer(port=0, data_dir=tmp_path / "comfy", models=models).start()
    yield server
    server.stop()


def stored_files(user):
    found = []
    for folder in (f"uploads/{user.id}", f"outputs/{user.id}"):
        try:
            dirs, files = default_storage.listdir(folder)
        except FileNotFoundError:
            continue
        found += files + dirs
    return found


def test_a_text_to_image_job_runs_with_no_input(template_server, start_worker):
    alice = UserFactory()
    ComfyServerFactory(url=template_server.url)
    start_worker()
    job = generation_create(user=alice, workflow=template_workflow(alice, "sdxl_text"))
    wait_for_status(job, FINAL)

    assert job.status == Status.COMPLETED, job.error_message
    assert not job.assets.filter(kind=Asset.Kind.INPUT).exists()
    assert job.assets.filter(kind=Asset.Kind.OUTPUT).count() == 1


def test_image_and_mask_reach_comfyui_under_their_own_names(template_server, start_worker):
    bob = UserFactory()
    ComfyServerFactory(url=template_server.url)
    start_worker()
    photo, mask = png_bytes(color=(10, 200, 30)), png_bytes(color=(255, 255, 255))
    job = generation_create(
        user=bob,
        workflow=template_workflow(bob, "inpaint"),
        inputs={"image": InputFile(photo, "photo.png"), "mask": InputFile(mask, "mask.png")},
    )
    wait_for_status(job, FINAL)

    assert job.status == Status.COMPLETED, job.error_message
    inputs = {a.input_name: a for a in job.assets.filter(kind=Asset.Kind.INPUT)}
    assert set(inputs) == {"image", "mask"}
    assert inputs["mask"].original_name == "mask.png"
    job_dir = template_server.input_dir / "creator" / str(job.id)
    assert (job_dir / "image.png").read_bytes() == photo
    assert (job_dir / "mask.png").read_bytes() == mask
    snapshot_files = {
        node["inputs"].get("image")
        for node in job.workflow_snapshot.values()
        if node["class_type"] in ("LoadImage", "LoadImageMask")
    }
    assert snapshot_files == {f"creator/{job.id}/image.png", f"creator/{job.id}/mask.png"}


def test_unknown_and_missing_inputs_are_refused_and_nothing_is_stored(template_server):
    charlie = UserFactory()
    workflow = template_workflow(charlie, "inpaint")
    with pytest.raises(ParameterValuesError) as refused:
        generation_create(
            user=charlie,
            workflow=workflow,
            inputs={"image": InputFile(png_bytes(), "a.png"), "masque": InputFile(png_bytes())},
        )

    assert {"masque", "mask"} <= set(refused.value.errors)
    assert not Generation.objects.exists() and not Asset.objects.exists()
    assert stored_files(charlie) == []


def test_a_mask_that_is_not_an_image_is_refused_by_name(template_server):
    alice = UserFactory()
    with pytest.raises(InvalidImage) as refused:
        generation_create(
            user=alice,
            workflow=template_workflow(alice, "inpaint"),
            inputs={"image": InputFile(png_bytes(), "a.png"), "mask": InputFile(b"not a png")},
        )

    assert refused.value.message.startswith("mask: ")
    assert not Generation.objects.exists() and not Asset.objects.exists()
    assert stored_files(alice) == []


def test_the_command_runs_text_to_image_and_named_inputs(
    template_server, start_worker, tmp_path, capsys
):
    from django.core.management import call_command

    alice = UserFactory()
    ComfyServerFactory(url=template_server.url)
    start_worker()
    text = template_workflow(alice, "sdxl_text")
    inpaint = template_workflow(alice, "inpaint")
    (tmp_path / "photo.png").write_bytes(png_bytes())
    (tmp_path / "mask.png").write_bytes(png_bytes(color=(255, 255, 255)))

    call_command("generate", text.slug, "--user", alice.email, "--wait")
    call_command(
        "generate",
        inpaint.slug,
        "--input",
        f"image={tmp_path / 'photo.png'}",
        "--input",
        f"mask={tmp_path / 'mask.png'}",
        "--user",
        alice.email,
        "--wait",
    )

    jobs = {j.workflow_id: j for j in Generation.objects.filter(user=alice)}
    assert {j.status for j in jobs.values()} == {Status.COMPLETED}
    assert not jobs[text.id].assets.filter(kind=Asset.Kind.INPUT).exists()
    named = jobs[inpaint.id].assets.filter(kind=Asset.Kind.INPUT)
    assert set(named.values_list("input_name", flat=True)) == {"image", "mask"}
