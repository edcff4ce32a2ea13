"""Development ComfyUI server (a protocol-faithful stand-in for tests and `make run`)."""

from .server import DevComfyServer, Knobs

__all__ = ["DevComfyServer", "Knobs"]
