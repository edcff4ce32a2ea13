"""`{% load billing_tags %}{% billing_banner %}`: the past-due and quota
banner, for base.html or any page."""

from django import template

from billing.selectors import banner_for

register = template.Library()


@register.inclusion_tag("billing/_banner.html", takes_context=True)
def billing_banner(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"banner": None}
    return {"banner": banner_for(user=user)}


@register.filter
def dollars(cents) -> str:
    try:
        return f"${int(cents) / 100:,.2f}"
    except (TypeError, ValueError):
        return ""
