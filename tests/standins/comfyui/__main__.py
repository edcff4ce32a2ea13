"""Run the development ComfyUI server in the foreground.

python -m tests.standins.comfyui --host 127.0.0.1 --port 8188 [--data-dir DIR] [--node-delay S]
    [--models checkpoints=a.safetensors,b.safetensors upscale_models=x.pth ...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from .model_files import MODEL_FOLDERS, models_parse
from .server import DevComfyServer


def parser_build() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.standins.comfyui",
        description="Development ComfyUI server (a stand-in, not ComfyUI).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8188)
    parser.add_argument("--data-dir", default=None, help="input/output/temp live here")
    parser.add_argument("--node-delay", type=float, default=0.0, help="seconds per node")
    parser.add_argument(
        "--models",
        nargs="+",
        action="extend",
        default=[],
        metavar="FOLDER=FILE[,FILE…]",
        help="model files the server pretends to have, by folder "
        f"({', '.join(MODEL_FOLDERS)}); may be repeated",
    )
    return parser


def arguments_parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, with `--models` turned into {folder: [file, …]}."""
    parser = parser_build()
    args = parser.parse_args(argv)
    try:
        args.models = models_parse(args.models)
    except ValueError as exc:
        parser.error(f"--models: {exc}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = arguments_parse(argv)
    server = DevComfyServer(
        args.host, args.port, args.data_dir, node_delay=args.node_delay, models=args.models
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(server.serve_forever())


if __name__ == "__main__":
    main()
