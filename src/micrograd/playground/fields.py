"""What the playground takes from outside, described as tables, and the one function that holds a
JSON object to its table.

A table maps each field a request body, the settings or a session file may carry to a ``Field``: the
test its value must pass and what that test asks, in words. ``checked`` refuses an object with a
field the table does not know, a value that fails its field's test or a required field missing,
with a ``ValueError`` naming the field (the server answers it with a 400). What the tables
guarantee, the code behind them does not check again.
"""

from __future__ import annotations

import sys
from typing import Callable, NamedTuple

__all__ = ["Field", "checked", "shown", "whole", "number", "one_of", "text", "list_of", "nullable", "required",
           "AN_OBJECT", "A_LIST"]


class Field(NamedTuple):
    test: Callable[[object], bool]  # whether a JSON value is what the field takes
    must_be: str  # what the test asks, in words: "a whole number from 0 to 100"
    required: bool = False


def checked(obj, fields: dict[str, Field], where: str) -> dict:
    """``obj`` if it is a JSON object whose every field is in ``fields`` and passes its test, and
    which has every required one; else ``ValueError`` saying ``where`` and naming the field."""
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: expected a JSON object, got {shown(obj)}")
    unknown = sorted(set(obj) - set(fields))
    if unknown:
        raise ValueError(f"{where}: unknown field {unknown[0]!r}; the fields are {', '.join(fields)}")
    for name, field in fields.items():  # in the table's order: a session file's format is named before the rest
        if name in obj and not field.test(obj[name]):
            raise ValueError(f"{where}: {name} must be {field.must_be}, got {shown(obj[name])}")
    missing = [name for name, field in fields.items() if field.required and name not in obj]
    if missing:
        raise ValueError(f"{where}: missing {', '.join(missing)}")
    return obj


def shown(value, limit: int = 80) -> str:
    """``repr(value)``, cut short: a message quotes what it refuses, not a whole file."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- the kinds of field -------------------------------------------------------------------------
# JSON's true and false are never numbers here, though Python's bool is an int.


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def whole(low: int, high: int | None = None) -> Field:
    """A whole number from ``low`` to ``high`` (no upper end if None)."""
    return Field(
        lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v and (high is None or v <= high),
        f"a whole number from {low} to {high}" if high is not None else f"a whole number >= {low}",
    )


def number(low: float = -sys.float_info.max, high: float = sys.float_info.max) -> Field:
    """A number from ``low`` to ``high``; by default any finite one (NaN fails every comparison)."""
    unbounded = (low, high) == (-sys.float_info.max, sys.float_info.max)
    return Field(lambda v: _is_number(v) and low <= v <= high,
                 "a finite number" if unbounded else f"a number from {low:g} to {high:g}")


def one_of(choices) -> Field:
    """One of ``choices`` (names, or numbers from a menu)."""
    return Field(lambda v: isinstance(v, (str, int, float)) and not isinstance(v, bool) and v in choices,
                 f"one of {', '.join(map(str, choices))}")


def text(limit: int) -> Field:
    return Field(lambda v: isinstance(v, str) and len(v) <= limit, f"text of at most {limit} characters")


def list_of(item: Field, low: int = 0, high: int | None = None) -> Field:
    """A list of ``low`` to ``high`` values (no upper end if None), each passing ``item``'s test."""
    if high is None:
        size = f"{low} or more " if low else ""
    else:
        size = f"at most {high} " if low == 0 else f"{low} to {high} "
    return Field(
        lambda v: isinstance(v, list) and low <= len(v) and (high is None or len(v) <= high) and all(map(item.test, v)),
        f"a list of {size}items, each {item.must_be}",
    )


def nullable(field: Field) -> Field:
    return field._replace(test=lambda v: v is None or field.test(v), must_be=f"{field.must_be}, or null")


def required(field: Field) -> Field:
    return field._replace(required=True)


AN_OBJECT = Field(lambda v: isinstance(v, dict), "a JSON object")
A_LIST = Field(lambda v: isinstance(v, list), "a list")
