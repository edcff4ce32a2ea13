"""Stripe API stand-in and webhook signing (SPEC §9)."""

from .server import API_VERSION, StripeStandIn, sign_payload

__all__ = ["API_VERSION", "StripeStandIn", "sign_payload"]
