from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from workflows.graph import (
    MAX_GRAPH_BYTES,
    GraphValidationError,
    graph_check_size,
    graph_parse,
)
from workflows.models import Workflow
from workflows.services import comfyui_object_info, workflow_create


class Command(BaseCommand):
    help = (
        "Import an API-format ComfyUI workflow from a JSON file, for a user (--owner) or as a "
        "system preset (--preset). The file may be a bare graph or an object with "
        '"workflow_json" and "parameters". Prints every problem and exits non-zero when '
        "the workflow is invalid."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--name", help="Display name (default: the file name).")
        parser.add_argument("--slug", help="Slug (default: derived from the name).")
        parser.add_argument("--owner", metavar="EMAIL", help="Import into this user's library.")
        parser.add_argument(
            "--preset", action="store_true", help="Import as a public system preset (no owner)."
        )
        parser.add_argument("--description", default="")
        parser.add_argument(
            "--category", default=Workflow.Category.IMAGE_TO_IMAGE, choices=Workflow.Category.values
        )

    def handle(self, *args, path: Path, **options):
        if bool(options["owner"]) == bool(options["preset"]):
            raise CommandError("Give either --owner EMAIL or --preset.")
        owner = None
        if options["owner"]:
            try:
                owner = get_user_model().objects.get(email__iexact=options["owner"])
            except get_user_model().DoesNotExist:
                raise CommandError(f"No user with the email {options['owner']}.") from None
        try:
            graph_check_size(path.stat().st_size)
            with path.open("rb") as handle:
                # Read one byte past the limit: enough to refuse, never the whole of a huge file.
                document = graph_parse(handle.read(MAX_GRAPH_BYTES + 1))
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        except GraphValidationError as exc:
            self._fail(exc.messages)

        graph, parameters = document, []
        if isinstance(document.get("workflow_json"), dict):
            graph, parameters = document["workflow_json"], document.get("parameters", [])
        name = options["name"] or path.stem.replace("_", " ").replace("-", " ").title()
        try:
            workflow = workflow_create(
                user=owner,
                name=name,
                slug=options["slug"],
                graph=graph,
                parameters=parameters,
                description=options["description"],
                category=options["category"],
                visibility=(
                    Workflow.Visibility.PUBLIC if options["preset"] else Workflow.Visibility.PRIVATE
                ),
                is_template=bool(options["preset"]),
                notes=f"Imported from {path.name}.",
                object_info=comfyui_object_info(),
            )
        except GraphValidationError as exc:
            self._fail(exc.messages)
        except ValidationError as exc:
            self._fail(
                [f"{field}: {msg}" for field, msgs in exc.message_dict.items() for msg in msgs]
            )
        self.stdout.write(self.style.SUCCESS(f"Imported “{workflow.name}” ({workflow.id})."))

    def _fail(self, messages: list[str]):
        for message in messages:
            self.stderr.write(f"  - {message}")
        raise CommandError(
            f"The workflow is invalid ({len(messages)} problem(s)); nothing was imported."
        )
