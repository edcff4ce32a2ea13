"""`textguard` finds text PostgreSQL cannot store and numbers JSON cannot carry."""

import json

import pytest

from creator_site.textguard import (
    NUL_FLAW,
    UnstorableJSON,
    json_loads_strict,
    json_text_flaw,
    text_flaw,
)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"a": "x\\u0000"}', "a"),
        ('{"a\\u0000": 1}', "a\\u0000"),
        ('{"a": [1, {"b": "\\u0000"}]}', "a[1].b"),
        ('{"a": "\\udc00"}', "a"),
        ('"\\u0000"', None),
    ],
)
def test_it_locates_text_postgresql_cannot_store(text, where):
    with pytest.raises(UnstorableJSON) as caught:
        json_loads_strict(text)

    assert caught.value.where == where


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_it_refuses_numbers_json_cannot_carry(constant):
    with pytest.raises(UnstorableJSON, match=constant):
        json_loads_strict(f'{{"a": [{constant}]}}')


def test_escaped_backslashes_and_whole_characters_are_fine():
    text = '{"note": "\\\\u0000 NaN", "emoji": "\\ud83d\\ude00", "n": 1e308}'

    assert json_loads_strict(text) == json.loads(text)
    assert text_flaw("NaN \\u0000 😀") is None


def test_malformed_json_stays_a_plain_value_error():
    with pytest.raises(ValueError) as caught:
        json_loads_strict('{"a": ')

    assert not isinstance(caught.value, UnstorableJSON)


def test_deep_nesting_is_walked_without_recursion():
    value: list = ["\u0000"]
    for _ in range(10_000):
        value = [value]

    assert json_text_flaw(value, root="body") == ("[0]" * 10_001, NUL_FLAW)
    assert json_text_flaw("\u0000", root="body") == ("body", NUL_FLAW)
