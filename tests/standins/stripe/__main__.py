"""Run the Stripe stand-in in the foreground for local clicking-through:

    python -m tests.standins.stripe --port 12111 \\
        --webhook-url http://127.0.0.1:8000/stripe/webhook/<endpoint uuid>/ \\
        --webhook-secret whsec_...

It creates prices for the paid plans and two credit packs and prints the
environment to start Creator with (STRIPE_API_HOST, STRIPE_SECRET_KEY,
STRIPE_PRICE_CREATOR, STRIPE_PRICE_STUDIO). Opening a Checkout URL pays it.
"""

import argparse
import time

from .server import StripeStandIn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--webhook-url", default="")
    parser.add_argument("--webhook-secret", default="")
    args = parser.parse_args()
    server = StripeStandIn(
        args.host, args.port, webhook_url=args.webhook_url, webhook_secret=args.webhook_secret
    ).start()
    creator = server.create_price(name="Creator", unit_amount=2900)
    studio = server.create_price(name="Studio", unit_amount=9900)
    packs = [
        server.create_price(name=f"{n} credits", unit_amount=cents, recurring=False)
        for n, cents in ((50, 900), (200, 2900))
    ]
    print(f"STRIPE_API_HOST={server.url}")
    print(f"STRIPE_SECRET_KEY={server.api_key}")
    print(f"STRIPE_PRICE_CREATOR={creator['id']}")
    print(f"STRIPE_PRICE_STUDIO={studio['id']}")
    print("Credit pack prices (paste into the admin):", ", ".join(p["id"] for p in packs))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
