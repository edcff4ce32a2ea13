"""`manage.py inbox_watch`: the instant local inbox (see drive.watcher).

Runs until SIGTERM or Ctrl-C. With no inbox connected it only re-reads the
connections every few seconds, so it is harmless where the inbox is off."""

import signal

from django.core.management.base import BaseCommand

from drive.watcher import InboxWatcher


class Command(BaseCommand):
    help = "Watch local inbox folders and take each file as soon as it has been written."

    def handle(self, *args, **options):
        watcher = InboxWatcher()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: watcher.stop())
        watcher.run(on_ready=self._ready)

    def _ready(self) -> None:
        self.stdout.write("Inbox watcher ready: files are taken as soon as they are written.")
        self.stdout.flush()
