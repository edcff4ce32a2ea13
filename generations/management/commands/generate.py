"""Run a job through the real pipeline (queue, worker, storage) from a shell.

python manage.py generate portrait_pro photo.jpg --set softening=0.5 --wait
"""

import json
import time
from pathlib import Path

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from creator_site.errors import NotFound
from generations.images import InvalidImage
from generations.models import Asset, Generation
from generations.services import InputFile, generation_create
from workflows.parameters import ParameterValuesError
from workflows.selectors import workflow_get_for_user


def _parse_value(text: str):
    # JSON where it parses (numbers, true/false), the plain string otherwise.
    try:
        return json.loads(text)
    except ValueError:
        return text


class Command(BaseCommand):
    help = "Queue a job for a preset or workflow and an image; --wait follows it to the end."

    def add_arguments(self, parser):
        parser.add_argument("workflow", help="preset slug, your workflow's slug, or a workflow id")
        parser.add_argument(
            "image", nargs="?", help="path to a JPEG, PNG, WebP or GIF image (one-input workflows)"
        )
        parser.add_argument(
            "--input",
            action="append",
            default=[],
            dest="inputs",
            metavar="NAME=PATH",
            help="the file of image input NAME (repeat for each); none for text-to-image",
        )
        parser.add_argument("--user", help="email of the job's owner (default: first superuser)")
        parser.add_argument(
            "--set", action="append", default=[], metavar="NAME=VALUE", dest="values"
        )
        parser.add_argument("--wait", action="store_true", help="print progress until it ends")
        parser.add_argument("--timeout", type=float, default=600, help="seconds to --wait")

    def handle(self, *args, **options):
        user = self._user(options["user"])
        try:
            workflow = workflow_get_for_user(user=user, id_or_slug=options["workflow"])
        except NotFound as exc:
            raise CommandError(f"No workflow {options['workflow']!r} visible to {user}.") from exc
        if options["image"] and options["inputs"]:
            raise CommandError("Give the image or --input NAME=PATH, not both.")
        image, image_name, inputs = None, "", {}
        if options["image"]:
            path = _file(options["image"])
            image, image_name = path.read_bytes(), path.name
        for item in options["inputs"]:
            name, sep, raw = item.partition("=")
            if not sep or not name:
                raise CommandError(f"--input takes NAME=PATH, not {item!r}.")
            path = _file(raw)
            inputs[name] = InputFile(path.read_bytes(), path.name)
        values = {}
        for item in options["values"]:
            name, sep, raw = item.partition("=")
            if not sep or not name:
                raise CommandError(f"--set takes NAME=VALUE, not {item!r}.")
            values[name] = _parse_value(raw)
        try:
            generation = generation_create(
                user=user,
                workflow=workflow,
                image=image,
                image_name=image_name,
                inputs=inputs,
                values=values,
                source=Generation.Source.CLI,
            )
        except InvalidImage as exc:
            raise CommandError(exc.message) from exc
        except ParameterValuesError as exc:
            raise CommandError(f"Invalid parameters: {exc}") from exc
        self.stdout.write(f"Queued job {generation.id} ({workflow.name}) for {user}.")
        if options["wait"]:
            self._follow(generation, options["timeout"])

    def _user(self, email: str | None) -> User:
        if email:
            user = User.objects.filter(email__iexact=email).first()
            if user is None:
                raise CommandError(f"No user with email {email}.")
            return user
        user = User.objects.filter(is_superuser=True).order_by("created_at").first()
        if user is None:
            raise CommandError("No superuser exists; pass --user EMAIL.")
        return user

    def _follow(self, generation: Generation, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        shown = None
        while not generation.is_final:
            if time.monotonic() > deadline:
                raise CommandError(f"Job {generation.id} is still {generation.status}; gave up.")
            line = f"{generation.status} {generation.progress:3d}% {generation.progress_message}"
            if line != shown:
                self.stdout.write(line)
                shown = line
            time.sleep(0.25)
            generation.refresh_from_db()
        if generation.status != Generation.Status.COMPLETED:
            raise CommandError(
                f"Job {generation.id} {generation.status}: {generation.error_message}"
            )
        self.stdout.write(self.style.SUCCESS(f"completed in {generation.duration_ms} ms"))
        for asset in generation.assets.filter(kind=Asset.Kind.OUTPUT):
            where = (
                default_storage.path(asset.file.name)
                if hasattr(default_storage, "path")
                else asset.file.name
            )
            self.stdout.write(f"{where} ({asset.width}×{asset.height}, {asset.size} bytes)")


def _file(raw: str) -> Path:
    path = Path(raw)
    if not path.is_file():
        raise CommandError(f"{path} is not a file.")
    return path
