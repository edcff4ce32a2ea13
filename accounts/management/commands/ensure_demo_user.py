"""Create (or reset) the demo login that `make run` prints. Development only."""

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from billing.services import subscription_start_trial
from drive.services import inbox_connect

DEMO_EMAIL = "demo@creator.local"
DEMO_PASSWORD = "creator-demo-1234"


class Command(BaseCommand):
    help = "Create the demo user for the embedded development setup."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("The demo user exists only for development (DEBUG=1).")
        user, created = User.objects.get_or_create(
            email=DEMO_EMAIL,
            defaults={"full_name": "Demo User", "onboarding_completed": True, "is_staff": True},
        )
        if created or not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
            user.is_superuser = True
            user.is_staff = True
            user.save()
        EmailAddress.objects.update_or_create(
            user=user, email=DEMO_EMAIL, defaults={"verified": True, "primary": True}
        )
        subscription_start_trial(user=user)
        # The embedded default's watched folder: drop images in ./inbox.
        connection = inbox_connect(user=user)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD} (also admin at /admin/)"
            )
        )
        self.stdout.write(
            f"Watched folder: drop images into {connection.inbox_path}; "
            f"results appear in {connection.output_folder_link} (connection {connection.id})."
        )
