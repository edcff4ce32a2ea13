"""`python -m tests.standins.drive --port 8765`: the Drive stand-in in the foreground.

Prints a grant (tokens) for the default account so a development setup can
point DRIVE_API_ENDPOINT / GOOGLE_TOKEN_URI at it.
"""

import argparse
import json
import time

from .server import DriveStandIn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    server = DriveStandIn(host=args.host, port=args.port).start()
    print(f"Drive stand-in on {server.url}", flush=True)
    print(json.dumps({"client_id": server.client_id, **server.grant()}, indent=2), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
