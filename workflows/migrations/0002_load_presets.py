"""Load the system presets shipped in workflows/presets/ (see workflows.preset_sync).

The same function backs `manage.py load_presets`, which re-syncs them later."""

from django.db import migrations


def load_presets(apps, schema_editor):
    from workflows.preset_sync import presets_sync

    presets_sync(apps=apps)


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(load_presets, migrations.RunPython.noop),
    ]
