"""`GET /api/v1/me`: who the key belongs to, their plan and rate limit."""

from django.core.exceptions import ObjectDoesNotExist
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import openapi  # noqa: F401  (registers the Bearer scheme with drf-spectacular)
from accounts.models import ApiKey
from accounts.throttles import ApiRequestRateThrottle, RateLimitHeadersMixin, user_tier
from billing.models import Tier
from billing.selectors import billing_me
from billing.services import subscription_loaded


class ApiKeyInfoSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.DateTimeField(allow_null=True)


class RateLimitSerializer(serializers.Serializer):
    limit = serializers.IntegerField(help_text="Requests allowed in the window.")
    remaining = serializers.IntegerField(help_text="Requests left now, this one counted.")
    reset = serializers.IntegerField(help_text="Seconds until a request is allowed again.")
    window = serializers.CharField(help_text="The rate, e.g. `60/min`.")


class QuotaSerializer(serializers.Serializer):
    tier = serializers.CharField(help_text="The plan whose limits apply now.")
    status = serializers.CharField()
    trial_ends_at = serializers.DateTimeField(allow_null=True)
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    monthly_limit = serializers.IntegerField(help_text="Images included in this period.")
    used = serializers.IntegerField()
    remaining = serializers.IntegerField()
    overage = serializers.IntegerField(help_text="Images beyond the allowance this period.")
    overage_price_cents = serializers.IntegerField(
        allow_null=True, help_text="Null: the plan blocks at the limit."
    )
    credits = serializers.IntegerField(help_text="Purchased credits left.")
    jobs_per_hour = serializers.IntegerField(allow_null=True)


class MeSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    full_name = serializers.CharField()
    tier = serializers.CharField(help_text="`free`, `creator` or `studio`.")
    subscription_status = serializers.CharField(
        allow_null=True, help_text="Null when the account has no subscription (FREE)."
    )
    api_key = ApiKeyInfoSerializer(allow_null=True, help_text="Null for session calls.")
    rate_limit = RateLimitSerializer()
    quota = QuotaSerializer(help_text="Allowance, usage and credits (spent in that order).")


class MeView(RateLimitHeadersMixin, APIView):
    """The authenticated account with its plan, quota, credits and rate limit."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me",
        summary="Your account",
        description=(
            "The key's owner, their plan, allowance, credits and the key's rate limit. Any scope."
        ),
        responses={
            200: MeSerializer,
            401: OpenApiResponse(description="Missing or invalid API key."),
        },
        tags=["Account"],
    )
    def get(self, request):
        user = request.user
        # The quota first: reading it ends a trial that is over, so the tier
        # and status below agree with it.
        quota = billing_me(user=user, subscription=subscription_loaded(user))
        try:
            subscription = user.subscription
        except ObjectDoesNotExist:
            subscription = None
        # The plain FREE account (no row yet, or the row reading the quota
        # made, or an ended trial) has no subscription to report.
        on_free = subscription is None or (
            subscription.tier == Tier.FREE and not subscription.stripe_subscription_id
        )
        subscription_status = None if on_free else subscription.status
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        state = (getattr(request, "_creator_ratelimits", None) or {}).get("requests")
        throttle = ApiRequestRateThrottle()
        data = {
            "id": user.id,
            "email": user.email,
            "full_name": user.full_name,
            "tier": user_tier(user),
            "subscription_status": subscription_status,
            "api_key": api_key,
            "rate_limit": {
                "limit": state.limit if state else None,
                "remaining": state.remaining if state else None,
                "reset": state.reset if state else 0,
                "window": throttle.rate_for(request),
            },
        }
        data["quota"] = quota
        return Response(MeSerializer(data).data)
