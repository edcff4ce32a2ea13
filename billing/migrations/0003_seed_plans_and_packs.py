"""The plans of SPEC §7 and two credit packs; staff edit them in the admin."""

from django.db import migrations

PLANS = [
    # tier, name, price_cents, monthly_limit, overage_price_cents, jobs_per_hour, order, description
    ("free", "Free", 0, 10, None, 10, 0, "Try Creator on a few images a month."),
    ("creator", "Creator", 2900, 100, 50, 100, 1, "For makers with a steady flow of images."),
    ("studio", "Studio", 9900, 500, None, 500, 2, "For teams and high-volume shops."),
]

PACKS = [
    ("50 credits", 50, 900, 0),
    ("200 credits", 200, 2900, 1),
]


def seed(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    CreditPack = apps.get_model("billing", "CreditPack")
    for tier, name, price, limit, overage, per_hour, order, description in PLANS:
        Plan.objects.get_or_create(
            tier=tier,
            defaults={
                "name": name,
                "price_cents": price,
                "monthly_limit": limit,
                "overage_price_cents": overage,
                "jobs_per_hour": per_hour,
                "display_order": order,
                "description": description,
            },
        )
    for name, credits, price, order in PACKS:
        CreditPack.objects.get_or_create(
            name=name, defaults={"credits": credits, "price_cents": price, "display_order": order}
        )


def unseed(apps, schema_editor):
    apps.get_model("billing", "Plan").objects.filter(tier__in=[p[0] for p in PLANS]).delete()
    apps.get_model("billing", "CreditPack").objects.filter(name__in=[p[0] for p in PACKS]).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_plans_usage_ledger")]
    operations = [migrations.RunPython(seed, unseed)]
