"""Google Drive v3 stand-in (a real HTTP server on loopback) for tests and the bench."""

from .server import DEFAULT_ACCOUNT, DriveStandIn

__all__ = ["DEFAULT_ACCOUNT", "DriveStandIn"]
