"""Small steps the billing tests share: subscribe or buy through the real
services and the stand-in, then deliver Stripe's events."""

from billing.models import Tier
from billing.payments import checkout_pack_start, checkout_subscription_start


def session_id_of(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def subscribe(user, standin, deliver, tier=Tier.CREATOR) -> str:
    """Subscribe through Checkout and deliver every event; returns the sub id."""
    url = checkout_subscription_start(
        user=user, tier=tier, success_url="http://testserver/ok", cancel_url="http://t/no"
    )
    events = standin.checkout_complete(session_id_of(url))
    for event in events:
        assert deliver(event).status_code == 200, event["type"]
    return events[0]["data"]["object"]["id"]


def buy_pack(user, standin, deliver, pack) -> dict:
    """Buy a pack and deliver its events; returns the charge."""
    url = checkout_pack_start(user=user, pack=pack, success_url="http://t/ok", cancel_url="")
    events = standin.checkout_complete(session_id_of(url))
    for event in events:
        assert deliver(event).status_code == 200, event["type"]
    return next(e for e in events if e["type"] == "charge.succeeded")["data"]["object"]


def deliver_all(deliver, events) -> None:
    for event in events:
        assert deliver(event).status_code == 200, event["type"]
