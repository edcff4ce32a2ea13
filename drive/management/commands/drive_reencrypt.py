"""Re-encrypt stored Drive tokens with the newest key of TOKEN_ENCRYPTION_KEYS."""

from django.core.management.base import BaseCommand

from drive.services import connection_reencrypt_all


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored token with the first (newest) key of "
        "TOKEN_ENCRYPTION_KEYS. Run after prepending a new key; then the old "
        "key can be removed."
    )

    def handle(self, *args, **options):
        count = connection_reencrypt_all()
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted the tokens of {count} connection(s)."))
