"""A key's secret exists only in the response that shows it (SPEC §3)."""

import pytest

from accounts import services
from accounts.models import ApiKey


@pytest.mark.django_db
def test_it_never_stores_the_full_key(alice):
    new_key = services.api_key_create(user=alice, name="Laptop", scopes=["generate", "jobs:read"])

    stored = ApiKey.objects.get(id=new_key.api_key.id)
    for field in ApiKey._meta.concrete_fields:
        value = str(field.value_from_object(stored))
        assert new_key.full_key not in value, field.name
    # What is kept: a short visible prefix and a hash of the whole key.
    assert new_key.full_key.startswith(stored.prefix)
    assert len(stored.prefix) == len("sk_live_") + 8
    assert stored.key_hash == ApiKey.hash_key(new_key.full_key)


@pytest.mark.django_db
def test_it_makes_keys_that_start_with_sk_live_and_are_unguessable(alice):
    keys = {
        services.api_key_create(user=alice, name="k", scopes=["generate"]).full_key
        for _ in range(5)
    }

    assert len(keys) == 5
    for key in keys:
        assert key.startswith("sk_live_")
        assert len(key) >= len("sk_live_") + 40
