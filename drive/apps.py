from django.apps import AppConfig


class DriveConfig(AppConfig):
    name = "drive"
    verbose_name = "Watched folders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from drive import receivers  # noqa: F401  (hooks into allauth's Google connect)
        from drive.tasks import delivery_enqueue
        from generations.hooks import on_finished

        # A finished drive or inbox job is handed back to its source.
        on_finished(delivery_enqueue)
