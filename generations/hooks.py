"""Hooks other apps register to hear that a job finished.

generations imports nothing from the apps built on it (drive hands results
back to watched folders), so they register here, from their
AppConfig.ready(), and `finishing.generation_on_finished` calls them:

    # drive/apps.py, DriveConfig.ready()
    from generations.hooks import on_finished
    on_finished(delivery_enqueue)  # drive.tasks

A hook takes the finished job, runs inside the transaction that finished it
(enqueue with transaction.on_commit), and must be safe to call twice.
"""

from collections.abc import Callable

from generations.models import Generation

FinishedHook = Callable[[Generation], None]
_finished_hooks: list[FinishedHook] = []


def on_finished(hook: FinishedHook) -> FinishedHook:
    """Register `hook` (once, however often this is called); returns it."""
    if hook not in _finished_hooks:
        _finished_hooks.append(hook)
    return hook


def finished_hooks_run(*, generation: Generation) -> None:
    for hook in list(_finished_hooks):
        hook(generation)
