"""Run the development ComfyUI server in the foreground.

python -m tests.standins.comfyui --host 127.0.0.1 --port 8188 [--data-dir DIR] [--node-delay S]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from .server import DevComfyServer


def main() -> None:
    parser = argparse.ArgumentParser(description="Development ComfyUI server (stand-in).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8188)
    parser.add_argument("--data-dir", default=None, help="input/output/temp live here")
    parser.add_argument("--node-delay", type=float, default=0.0, help="seconds per node")
    args = parser.parse_args()
    server = DevComfyServer(args.host, args.port, args.data_dir, node_delay=args.node_delay)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(server.serve_forever())


if __name__ == "__main__":
    main()
