from django.core.management.base import BaseCommand

from workflows.preset_sync import presets_sync


class Command(BaseCommand):
    help = (
        "Create or update the system presets from workflows/presets/. Idempotent: a preset "
        "gets a new version only when its graph or parameter schema changed."
    )

    def handle(self, *args, **options):
        for slug, outcome in presets_sync().items():
            self.stdout.write(f"{slug}: {outcome}")
