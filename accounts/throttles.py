"""Per-key and per-tier rate limits for the API, with RateLimit-* headers.

Two limits, both kept in the cache (Redis in production, so every web
process shares them):

* requests per API key (per user for the dashboard's own session calls),
  rate by the account's tier: settings.API_REQUEST_RATES;
* job-creating requests per account, by tier: settings.API_JOB_RATES
  (SPEC §7: "for example 10 jobs/hour on FREE"), whichever key is used.

A refused request is a 429 `rate_limited` with `Retry-After`; every answer
to an authenticated request carries `RateLimit-Limit`, `RateLimit-Remaining`
and `RateLimit-Reset` for the tightest limit that applies to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import ApiKey

FREE_TIER = "free"
DEFAULT_REQUEST_RATES = {"free": "60/min", "creator": "300/min", "studio": "1200/min"}
DEFAULT_JOB_RATES = {"free": "10/hour", "creator": "200/hour", "studio": "1000/hour"}
# Subscriptions in these states get their tier's limits; any other state
# (cancelled, incomplete) is treated as FREE.
_PAYING_STATUSES = ("active", "trialing", "past_due")


def user_tier(user) -> str:
    """The tier whose limits apply to `user`: their plan's, or "free"."""
    try:
        subscription = user.subscription
    except (ObjectDoesNotExist, AttributeError):
        return FREE_TIER
    if subscription.status not in _PAYING_STATUSES:
        return FREE_TIER
    return subscription.tier or FREE_TIER


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset: int  # seconds until a request slot frees up (0 when one is free)


class TierRateThrottle(SimpleRateThrottle):
    """A rate limit whose rate depends on the caller's tier.

    GCRA (the "generic cell rate algorithm"): a limit of N per window lets N
    requests through at once, then one every window/N. The state is one
    number per key, the time at which the key's budget is full again, so a
    check is one cache read and (when allowed) one write whatever the limit;
    DRF's default keeps every timestamp of the window and rewrites the list
    on each request. As with DRF's, two requests at the same instant may
    both pass on the last slot (no cache-wide lock): a limit to protect the
    service, not a quota — quotas are exact in billing.
    """

    rates_setting = ""
    default_rates: dict[str, str] = {}
    name = ""

    def __init__(self) -> None:
        # The rate is decided per request (it depends on the user's tier),
        # so SimpleRateThrottle's lookup at construction time is skipped.
        self.rate = None
        self.num_requests = self.duration = None
        self.full_at = 0.0  # when the budget is whole again (epoch seconds)

    def rate_for(self, request) -> str | None:
        tier = getattr(request, "_creator_tier", None)
        if tier is None:
            tier = request._creator_tier = user_tier(request.user)
        rates = {**self.default_rates, **getattr(settings, self.rates_setting, {})}
        return rates.get(tier) or rates.get(FREE_TIER)

    def get_cache_key(self, request, view) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        return f"throttle:{self.name}:{self.ident(request)}"

    def ident(self, request) -> str:
        return f"user:{request.user.pk}"

    def _prepare(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        self.rate = self.rate_for(request)
        if self.rate is None:
            return False
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.key = self.get_cache_key(request, view)
        self.now = self.timer()
        self.full_at = max(float(self.cache.get(self.key) or 0.0), self.now)
        return True

    @property
    def _interval(self) -> float:
        return self.duration / self.num_requests

    def allow_request(self, request, view) -> bool:
        if not self._prepare(request, view):
            return True
        after = self.full_at + self._interval
        allowed = after - self.now <= self.duration
        if allowed:
            self.full_at = after
            self.cache.set(self.key, after, math.ceil(after - self.now) + 1)
        _record(request, self.name, self._state())
        return allowed

    def peek(self, request, view) -> RateLimitState | None:
        """The current state without counting a request (for headers on
        answers that were refused before the throttles ran)."""
        if not self._prepare(request, view):
            return None
        return self._state()

    def _state(self) -> RateLimitState:
        used = (self.full_at - self.now) / self._interval  # slots taken, fractional
        remaining = max(self.num_requests - math.ceil(used - 1e-9), 0)
        reset = 0 if remaining else math.ceil(self.wait() or 0)
        return RateLimitState(limit=self.num_requests, remaining=remaining, reset=reset)

    def wait(self) -> float | None:
        # When the next request fits, in whole seconds rounded up:
        # "Retry-After: 0" would invite a retry storm.
        wait = self.full_at + self._interval - self.duration - self.now
        return float(max(math.ceil(wait), 1))


class ApiRequestRateThrottle(TierRateThrottle):
    """Requests per API key (or per user for session calls)."""

    rates_setting = "API_REQUEST_RATES"
    default_rates = DEFAULT_REQUEST_RATES
    name = "requests"

    def ident(self, request) -> str:
        if isinstance(request.auth, ApiKey):
            return f"key:{request.auth.id}"
        return f"user:{request.user.pk}"


class JobCreateRateThrottle(TierRateThrottle):
    """Job-creating requests per account, whichever key makes them."""

    rates_setting = "API_JOB_RATES"
    default_rates = DEFAULT_JOB_RATES
    name = "jobs"

    def allow_request(self, request, view) -> bool:
        if request.method != "POST":
            return True
        return super().allow_request(request, view)


def _record(request, name: str, state: RateLimitState) -> None:
    states = getattr(request, "_creator_ratelimits", None)
    if states is None:
        states = request._creator_ratelimits = {}
    states[name] = state


class RateLimitHeadersMixin:
    """For API views: throttles every request per key and adds the
    RateLimit-* headers of the tightest limit to every answer."""

    throttle_classes = [ApiRequestRateThrottle]

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        states = dict(getattr(request, "_creator_ratelimits", None) or {})
        if not states:
            try:
                state = ApiRequestRateThrottle().peek(request, self)
            except Exception:  # noqa: BLE001  (headers must never turn an answer into a 500)
                state = None
            if state is not None:
                states["requests"] = state
        if states:
            tightest = min(states.values(), key=lambda s: (s.remaining, -s.reset))
            response["RateLimit-Limit"] = str(tightest.limit)
            response["RateLimit-Remaining"] = str(tightest.remaining)
            response["RateLimit-Reset"] = str(tightest.reset)
        return response
