from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Connects the dj-stripe webhook receivers (after dj-stripe's own,
        # which sync its copies of the objects first).
        from billing import stripe_events  # noqa: F401
