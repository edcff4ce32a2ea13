from django.apps import AppConfig


class DriveConfig(AppConfig):
    name = "drive"
    default_auto_field = "django.db.models.BigAutoField"
