"""Staff corrections: a reason, sane amounts, and the ledger stays the truth."""

import pytest

from billing.models import CreditBalance, CreditEntry
from billing.services import (
    BillingError,
    InvalidAdjustment,
    credits_adjust,
    credits_balance,
    credits_grant,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)


def ledger_sum(user):
    return sum(CreditEntry.objects.filter(user=user).values_list("amount", flat=True))


def test_an_adjustment_is_recorded_with_its_reason_and_author(alice, staff):
    entry = credits_adjust(user=alice, amount=25, reason="Sorry about the outage", staff_user=staff)
    assert (entry.kind, entry.amount, entry.balance_after) == ("adjustment", 25, 25)
    assert entry.created_by == staff
    assert credits_balance(user=alice) == ledger_sum(alice) == 25


@pytest.mark.parametrize(
    ("amount", "reason", "message"),
    [
        (-5, "Oops", "would make it negative"),
        (10_000_000, "Typo?", "limited to 100,000"),
        (0, "Nothing", "changes nothing"),
        (5, "   ", "Give a reason"),
    ],
)
def test_bad_adjustments_are_refused_with_a_clear_error(alice, staff, amount, reason, message):
    with pytest.raises(InvalidAdjustment) as error:
        credits_adjust(user=alice, amount=amount, reason=reason, staff_user=staff)
    assert message in error.value.message
    assert credits_balance(user=alice) == ledger_sum(alice) == 0


def test_the_balance_row_cannot_go_negative_even_if_code_tries(alice):
    from django.db import IntegrityError, transaction

    credits_grant(user=alice, kind="bonus", amount=3, idempotency_key="b", description="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditBalance.objects.filter(user=alice).update(balance=-1)
    with pytest.raises(BillingError):
        credits_grant(user=alice, kind="bonus", amount=-3, idempotency_key="c", description="x")


def test_a_grant_with_a_used_key_is_ignored(alice):
    credits_grant(user=alice, kind="bonus", amount=10, idempotency_key="welcome", description="Hi")
    assert (
        credits_grant(
            user=alice, kind="bonus", amount=10, idempotency_key="welcome", description="Hi"
        )
        is None
    )
    assert credits_balance(user=alice) == 10


def test_staff_adjust_credits_from_the_admin(client, alice, staff):
    credits_grant(user=alice, kind="bonus", amount=10, idempotency_key="b", description="x")
    balance = CreditBalance.objects.get(user=alice)
    client.force_login(staff)
    url = "/admin/billing/creditbalance/"

    form = client.post(url, {"action": "adjust_credits", "_selected_action": [balance.pk]})
    assert form.status_code == 200
    assert "reason" in form.content.decode()

    response = client.post(
        url,
        {
            "action": "adjust_credits",
            "_selected_action": [balance.pk],
            "apply": "1",
            "amount": "-50",
            "reason": "Chargeback",
        },
        follow=True,
    )
    assert "would make it negative" in response.content.decode()
    assert credits_balance(user=alice) == 10

    client.post(
        url,
        {
            "action": "adjust_credits",
            "_selected_action": [balance.pk],
            "apply": "1",
            "amount": "-4",
            "reason": "Duplicate bonus",
        },
    )
    assert credits_balance(user=alice) == ledger_sum(alice) == 6
    assert CreditEntry.objects.filter(user=alice, kind="adjustment", created_by=staff).exists()

    response = client.post(
        url,
        {
            "action": "adjust_credits",
            "_selected_action": [balance.pk],
            "apply": "1",
            "amount": "5",
            "reason": "",
        },
    )
    assert response.status_code == 200  # the form again, with its error
    assert credits_balance(user=alice) == 6
