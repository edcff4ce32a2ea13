"""Text PostgreSQL cannot store, and numbers JSON cannot carry, found before
they reach a model.

PostgreSQL refuses U+0000 in `text` and `jsonb`, the UTF-8 encoder refuses
half of a surrogate pair (JSON can spell one, `"\\ud800"`), and `jsonb`
refuses NaN and ±Infinity, which Python's json module accepts by default.
Each would fail at INSERT time as a 500, after the request was accepted, so
requests are checked where they enter: `creator_site.request_guard` for the
URL, query string, form fields and JSON bodies, `json_loads_strict` for JSON
typed into a form field. Pure Python, no Django: the graph parser uses it too.
"""

from __future__ import annotations

import json
from typing import Any

NUL = "\x00"

NUL_FLAW = "a NUL character (\\u0000)"
SURROGATE_FLAW = "half of a UTF-16 surrogate pair (\\ud800–\\udfff)"


def text_flaw(value: str) -> str | None:
    """What in `value` PostgreSQL could not store ("a NUL character …"), or None."""
    if NUL in value:
        return NUL_FLAW
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE_FLAW
    return None


def text_problem(value: str) -> str | None:
    """Why PostgreSQL could not store `value`, as a sentence, or None."""
    flaw = text_flaw(value)
    return f"Text cannot contain {flaw}." if flaw else None


def shown(value: str, limit: int = 80) -> str:
    """`value` made safe to echo in a message: NUL and lone surrogates escaped."""
    text = value.encode("utf-8", "backslashreplace").decode("utf-8").replace(NUL, "\\u0000")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def json_text_flaw(value: Any, *, root: str = "") -> tuple[str, str] | None:
    """The first key or string in a parsed JSON value that PostgreSQL could not
    store, as (where, flaw); `where` is a dotted path (`parameters.seed`,
    `items[2]`), `root` when the value itself is the string. None if all is well.
    A loop, not recursion, so deep nesting cannot exhaust the stack."""
    pending: list[tuple[Any, str]] = [(value, "")]
    while pending:
        item, where = pending.pop()
        if isinstance(item, str):
            flaw = text_flaw(item)
            if flaw:
                return where or root, flaw
        elif isinstance(item, dict):
            for key, child in item.items():
                child_where = f"{where}.{shown(key)}" if where else shown(key)
                flaw = text_flaw(key)
                if flaw:
                    return child_where, flaw
                pending.append((child, child_where))
        elif isinstance(item, list):
            pending.extend((child, f"{where}[{index}]") for index, child in enumerate(item))
    return None


class UnstorableJSON(ValueError):
    """Valid-looking JSON Creator refuses: NaN/Infinity, or text PostgreSQL
    cannot store. `where` locates it (None for a number constant)."""

    def __init__(self, problem: str, where: str | None = None):
        self.problem = problem
        self.where = where
        super().__init__(f"{problem} Found at “{where}”." if where else problem)


def non_finite_sentence(name: str) -> str:
    return f"{name} is not a JSON number; use a finite number (or null)."


def _refuse_constant(name: str):
    raise UnstorableJSON(non_finite_sentence(name))


def json_loads_strict(text: str | bytes) -> Any:
    """`json.loads` that also refuses NaN, Infinity, -Infinity and any key or
    string PostgreSQL cannot store, raising UnstorableJSON (a ValueError).
    Malformed JSON raises json.JSONDecodeError (a ValueError) and absurd
    nesting RecursionError, as with `json.loads`."""
    value = json.loads(text, parse_constant=_refuse_constant)
    found = json_text_flaw(value)
    if found:
        where, flaw = found
        raise UnstorableJSON(f"Text cannot contain {flaw}.", where or None)
    return value
