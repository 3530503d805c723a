"""The validation kit (``_internal/fields.py``): every getter either returns the value
typed or raises the error class it was given, never anything else, for any value."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nebsign._internal import fields
from nebsign.errors import InputError


class Refused(InputError):
    """The error class the tests hand to the kit (a parser's own, in real use)."""

    reason = "refused-by-test"


SETTINGS = settings(max_examples=200, deadline=None)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.dates(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)

#: every getter, called with the test's error class (keyword arguments that shape it)
GETTERS: dict[str, Any] = {
    "obj": lambda v: fields.obj(v, "w", error=Refused),
    "obj-allowed": lambda v: fields.obj(v, "w", allowed={"a", "b"}, error=Refused),
    "table": lambda v: fields.table(v, "w", allowed={"a"}, error=Refused),
    "arr": lambda v: fields.arr(v, "w", limit=3, error=Refused),
    "tables": lambda v: fields.tables(v, "w", allowed={"a"}, error=Refused),
    "string": lambda v: fields.string(v, "w", limit=5, nonempty=True, error=Refused),
    "strings": lambda v: fields.strings(v, "w", limit=3, nonempty=True, min_items=1, error=Refused),
    "argv": lambda v: fields.argv(v, "w", error=Refused),
    "boolean": lambda v: fields.boolean(v, "w", error=Refused),
    "day": lambda v: fields.day(v, "w", error=Refused),
    "integer": lambda v: fields.integer(v, "w", low=0, high=100, error=Refused),
    "integer-text": lambda v: fields.integer(v, "w", text=True, error=Refused),
    "number": lambda v: fields.number(v, "w", low=0, high=10, low_open=True, error=Refused),
    "positive": lambda v: fields.positive(v, "w", error=Refused),
    "positive-int": lambda v: fields.positive(v, "w", integral=True, error=Refused),
    "decimal": lambda v: fields.decimal(v, "w", error=Refused),
    "decimal-percent": lambda v: fields.decimal(v, "w", percent=True, error=Refused),
}


@pytest.mark.parametrize("name", sorted(GETTERS))
@SETTINGS
@given(value=values)
def test_any_value_is_accepted_or_refused_with_the_given_error(name: str, value: Any) -> None:
    try:
        GETTERS[name](value)
    except Refused as exc:
        assert exc.message.startswith(("w: ", "w["))
        assert exc.exit_code == 2


@SETTINGS
@given(st.dictionaries(st.sampled_from("ab"), values, max_size=2))
def test_obj_round_trips_allowed_fields(value: dict[str, Any]) -> None:
    assert fields.obj(value, "w", allowed={"a", "b"}, error=Refused) is value


@SETTINGS
@given(
    st.dictionaries(st.text(min_size=1, max_size=8).filter(lambda k: k != "a"), values, min_size=1)
)
def test_an_unknown_key_is_named_escaped(value: dict[str, Any]) -> None:
    with pytest.raises(Refused) as info:
        fields.table(value, "w", allowed={"a"}, error=Refused)
    assert "unknown key" in info.value.message
    assert info.value.message.isprintable()


@SETTINGS
@given(st.lists(values, max_size=3))
def test_arr_round_trips(value: list[Any]) -> None:
    assert fields.arr(value, "w", limit=3, error=Refused) is value


def test_arr_limit() -> None:
    with pytest.raises(Refused, match="more than 3 items"):
        fields.arr([1, 2, 3, 4], "w", limit=3, error=Refused)


@SETTINGS
@given(st.lists(st.dictionaries(st.just("a"), values), max_size=3))
def test_tables_round_trip(value: list[dict[str, Any]]) -> None:
    assert fields.tables(value, "w", allowed={"a"}, error=Refused) is value


@SETTINGS
@given(st.text(min_size=1, max_size=5).filter(str.strip))
def test_string_round_trips(value: str) -> None:
    assert fields.string(value, "w", limit=5, nonempty=True, error=Refused) == value


def test_string_limits() -> None:
    with pytest.raises(Refused, match="longer than 5 characters"):
        fields.string("x" * 6, "w", limit=5, error=Refused)
    with pytest.raises(Refused, match="must not be empty"):
        fields.string("  ", "w", nonempty=True, error=Refused)
    with pytest.raises(Refused, match="lone surrogate"):
        fields.string("\ud800", "w", error=Refused)


@SETTINGS
@given(st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=3))
def test_strings_round_trip(value: list[str]) -> None:
    assert fields.strings(value, "w", limit=3, nonempty=True, error=Refused) == tuple(value)
    assert fields.strings([], "w", nonempty=True, error=Refused) == ()
    with pytest.raises(Refused):
        fields.strings([], "w", min_items=1, error=Refused)
    with pytest.raises(Refused):
        fields.strings([*value, ""], "w", nonempty=True, error=Refused)


@SETTINGS
@given(st.lists(st.text(max_size=5), max_size=3))
def test_argv_round_trips_an_absolute_program(rest: list[str]) -> None:
    """Arguments may be anything, even empty; the program is an absolute path."""
    value = ["/usr/bin/tool", *rest]
    assert fields.argv(value, "w", error=Refused) == tuple(value)


@pytest.mark.parametrize("bad", [[], ["tool"], [""], "/bin/x", [1], ["/bin/x", 1]])
def test_argv_refuses(bad: object) -> None:
    with pytest.raises(Refused):
        fields.argv(bad, "w", error=Refused)


@given(st.booleans())
def test_boolean_round_trips(value: bool) -> None:
    assert fields.boolean(value, "w", error=Refused) is value


@pytest.mark.parametrize("bad", [0, 1, "true", None])
def test_boolean_is_not_a_number_or_string(bad: object) -> None:
    with pytest.raises(Refused, match="true or false"):
        fields.boolean(bad, "w", error=Refused)


@SETTINGS
@given(st.integers(0, 100))
def test_integer_round_trips(value: int) -> None:
    assert fields.integer(value, "w", low=0, high=100, error=Refused) == value


@SETTINGS
@given(st.integers(-(2**63), 2**63 - 1))
def test_integer_text_round_trips(value: int) -> None:
    assert fields.integer(str(value), "w", text=True, error=Refused) == value
    with pytest.raises(Refused):
        fields.integer(str(value), "w", error=Refused)


@pytest.mark.parametrize("bad", [True, False, 1.0, "1", -1, 101])
def test_bool_is_not_an_integer(bad: object) -> None:
    with pytest.raises(Refused, match=r"must be an integer in \[0, 100\]"):
        fields.integer(bad, "w", low=0, high=100, error=Refused)


@SETTINGS
@given(st.one_of(st.integers(1, 10), st.floats(0, 10, exclude_min=True)))
def test_number_round_trips(value: float) -> None:
    assert fields.number(value, "w", low=0, high=10, low_open=True, error=Refused) == value


@pytest.mark.parametrize("bad", [0, -1, 10.5, True, math.nan, math.inf, "1", 2**2000])
def test_number_refuses(bad: object) -> None:
    with pytest.raises(Refused, match=r"must be a number in \(0, 10\]"):
        fields.number(bad, "w", low=0, high=10, low_open=True, error=Refused)


@SETTINGS
@given(
    st.one_of(st.integers(1, 2**70), st.floats(min_value=0, exclude_min=True, allow_infinity=False))
)
def test_positive_round_trips(value: float) -> None:
    assert fields.positive(value, "w", error=Refused) == value


@pytest.mark.parametrize("bad", [0, -1, 0.0, math.inf, math.nan, True, "1"])
def test_positive_refuses(bad: object) -> None:
    with pytest.raises(Refused, match="must be a positive, finite number"):
        fields.positive(bad, "w", error=Refused)
    with pytest.raises(Refused, match="must be a positive integer"):
        fields.positive(1.5, "w", integral=True, error=Refused)


@SETTINGS
@given(
    st.one_of(
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.decimals(allow_nan=False, allow_infinity=False),
    )
)
def test_decimal_is_exact(value: float | int | Decimal) -> None:
    got = fields.decimal(value, "w", error=Refused)
    expected = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    assert got == expected


@SETTINGS
@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-1000, max_value=1000)
)
def test_decimal_percent_round_trips(value: Decimal) -> None:
    assert fields.decimal(f"{value}%", "w", percent=True, error=Refused) == value / 100
    assert fields.decimal(str(value), "w", percent=True, error=Refused) == value


@pytest.mark.parametrize("bad", ["5 percent", "NaN", "inf%", "", True, None, math.nan])
def test_decimal_refuses(bad: object) -> None:
    with pytest.raises(Refused):
        fields.decimal(bad, "w", percent=True, error=Refused)


def test_a_caller_may_word_the_expectation() -> None:
    with pytest.raises(Refused) as info:
        fields.obj([], "bundle: tlogEntries[0]", error=Refused, expected="must be a JSON object")
    assert info.value.message == "bundle: tlogEntries[0]: must be a JSON object"


def test_unknown_keys_dotted_starts_with_the_field_path() -> None:
    with pytest.raises(Refused) as info:
        fields.unknown_keys({"a": 1, "z\n": 2}, {"a"}, "doc", error=Refused, dotted=True)
    assert info.value.message == "doc.z\\n: unknown key"
    fields.unknown_keys({"a": 1}, {"a", "b"}, "doc", error=Refused, dotted=True)


@SETTINGS
@given(st.dates(), st.datetimes())
def test_day_round_trips_a_date_and_takes_a_datetime_as_its_day(day: date, when: datetime) -> None:
    assert fields.day(day, "w", error=Refused) == day
    assert fields.day(when, "w", error=Refused) == when.date()
    with pytest.raises(Refused, match="TOML date"):
        fields.day(day.isoformat(), "w", error=Refused)


def test_table_is_obj_with_toml_words() -> None:
    with pytest.raises(Refused, match="w: must be a table"):
        fields.table([], "w", error=Refused)
    with pytest.raises(Refused, match="w: unknown key 'b'"):
        fields.table({"b": 1}, "w", allowed={"a"}, error=Refused)
    with pytest.raises(Refused, match="w: unknown field 'b'"):
        fields.obj({"b": 1}, "w", allowed={"a"}, error=Refused)


@SETTINGS
@given(st.dictionaries(st.just("a"), values, max_size=1))
def test_table_round_trips_allowed_keys(value: dict[str, Any]) -> None:
    assert fields.table(value, "w", allowed={"a"}, error=Refused) is value


@SETTINGS
@given(st.one_of(st.none(), st.integers(0, 100)))
def test_maybe_is_none_for_absent_and_the_getter_otherwise(value: int | None) -> None:
    assert fields.maybe(fields.integer, value, "w", low=0, error=Refused) == value
    with pytest.raises(Refused):
        fields.maybe(fields.integer, "1", "w", error=Refused)
