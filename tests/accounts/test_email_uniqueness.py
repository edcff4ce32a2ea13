"""One account per email address, whatever its case (SPEC §3)."""

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.db import IntegrityError

from accounts.models import User

PASSWORD = "a-long-unusual-passphrase-42"


@pytest.mark.django_db
def test_it_creates_nothing_when_signing_up_with_a_known_email_in_other_case(client, alice):
    response = client.post(
        "/accounts/signup/",
        {"email": "ALICE@Example.com", "password1": PASSWORD, "password2": PASSWORD},
    )

    assert User.objects.filter(email__iexact="alice@example.com").count() == 1
    assert EmailAddress.objects.filter(email__iexact="alice@example.com").count() == 1
    # The page must not reveal that the address is taken (enumeration), so it
    # looks like a normal sign-up; the clear explanation goes to the owner.
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["alice@example.com"]
    assert "already" in mail.outbox[0].body.lower()


@pytest.mark.django_db
def test_it_stores_emails_lower_cased(db):
    user = User.objects.create_user(email="  Dora@Example.COM ", password=PASSWORD)

    assert user.email == "dora@example.com"
    assert User.objects.get_by_natural_key("DORA@example.com") == user


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_a_second_email_differing_only_in_case(alice):
    # bulk_create skips User.save(), so the mixed case reaches the database and
    # only the functional unique index on lower(email) can stop it.
    with pytest.raises(IntegrityError, match="accounts_user_email_ci_unique"):
        User.objects.bulk_create([User(email="Alice@Example.com")])
