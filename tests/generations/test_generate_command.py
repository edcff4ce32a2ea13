"""`manage.py generate` runs a job through the real pipeline."""

import pytest
from django.core.management import CommandError, call_command

from generations.models import Generation
from tests.factories import UserFactory
from tests.generations.conftest import png_bytes
from tests.generations.factories import ComfyServerFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_waits_and_prints_the_stored_output(
    presets, comfy_dev_server, start_worker, tmp_path, capsys
):
    ComfyServerFactory(url=comfy_dev_server.url)
    start_worker()
    user = UserFactory(email="staff@example.com")
    image = tmp_path / "photo.png"
    image.write_bytes(png_bytes((640, 480)))

    call_command("generate", "cinematic", str(image), "--user", user.email, "--wait")

    out = capsys.readouterr().out
    job = Generation.objects.get(user=user)
    assert job.status == Generation.Status.COMPLETED
    assert job.source == Generation.Source.CLI
    assert "completed in" in out
    assert "(1920×1080" in out


def test_it_exits_with_the_error_when_the_job_fails(
    presets, comfy_dev_server, start_worker, tmp_path
):
    ComfyServerFactory(url=comfy_dev_server.url)
    comfy_dev_server.set_knobs(fail_node="ImageQuantize", fail_message="palette broke")
    start_worker()
    user = UserFactory()
    image = tmp_path / "photo.png"
    image.write_bytes(png_bytes((320, 240)))
    with pytest.raises(CommandError, match="palette broke"):
        call_command("generate", "cinematic", str(image), "--user", user.email, "--wait")


def test_it_refuses_a_non_image_and_queues_nothing(presets, tmp_path):
    user = UserFactory()
    fake = tmp_path / "photo.jpg"
    fake.write_bytes(b"definitely not a jpeg")
    with pytest.raises(CommandError, match="not an image"):
        call_command("generate", "cinematic", str(fake), "--user", user.email)
    assert not Generation.objects.exists()


def test_it_reports_bad_parameters_per_field(presets, tmp_path):
    user = UserFactory()
    image = tmp_path / "photo.png"
    image.write_bytes(png_bytes((64, 64)))
    with pytest.raises(CommandError, match="Unknown parameter"):
        call_command("generate", "cinematic", str(image), "--user", user.email, "--set", "nope=1")
    assert not Generation.objects.exists()
