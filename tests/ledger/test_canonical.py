"""RFC 8785 bytes: ``ledger.canonical`` against the reference ``rfc8785`` package."""

from __future__ import annotations

import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import CanonicalizationError, dumps, loads_exact

MAX = 2**53 - 1

# Characters where serialisers tend to disagree: every C0 control, DEL,
# quote and backslash, the JavaScript line separators U+2028/U+2029, the
# last BMP code points, private use (sorts after surrogates in UTF-16 order
# but before them in code point order) and characters beyond the BMP.
_SPECIAL = [chr(c) for c in range(0x20)] + [
    "\x7f",
    '"',
    "\\",
    "/",
    "\u2028",
    "\u2029",
    "\ue000",
    "\uf8ff",
    "\ufeff",
    "\uffff",
    "\U00010000",
    "\U0001f600",
    "\U0010ffff",
    "é",
]
_chars = st.one_of(
    st.sampled_from(_SPECIAL),
    st.characters(exclude_categories=("Cs",)),
)
texts = st.text(_chars, max_size=12)
exact_ints = st.one_of(
    st.integers(-MAX, MAX), st.sampled_from([MAX, -MAX, 0, 2**31, -(2**31), 2**32])
)
scalars = st.one_of(st.none(), st.booleans(), exact_ints, texts)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(texts, children, max_size=5)
    ),
    max_leaves=40,
)


def _nest(bad: Any, path: list[tuple[bool, str]]) -> Any:
    """Bury ``bad`` under a path of lists (True) and objects (False)."""
    value = bad
    for in_list, key in reversed(path):
        # A sibling key beside the buried value, never the value's own key.
        value = [None, value] if in_list else {key: value, ("y" if key == "z" else "z"): 1}
    return value


nesting = st.lists(st.tuples(st.booleans(), texts), max_size=4)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_equals_reference_on_every_float_free_value(value: Any) -> None:
    assert dumps(value) == rfc8785.dumps(value)


@given(st.dictionaries(st.text(st.sampled_from(_SPECIAL), max_size=4), exact_ints, min_size=2))
def test_keys_sort_by_utf16_code_units(value: dict[str, int]) -> None:
    # RFC 8785 section 3.2.3: U+1F600 (D83D DE00) sorts before U+E000 and U+FFFF.
    assert dumps(value) == rfc8785.dumps(value)


def test_utf16_order_differs_from_code_point_order() -> None:
    value = {"\uffff": 1, "\U0001f600": 2, "\ue000": 3}
    assert dumps(value) == '{"\U0001f600":2,"\ue000":3,"\uffff":1}'.encode()
    assert dumps(value) == rfc8785.dumps(value)


def test_escapes_only_what_rfc8785_escapes() -> None:
    value = ["\x00\x08\t\n\x0c\r\x1f", "\u2028\u2029\x7f/", '"\\']
    assert (
        dumps(value)
        == b'["\\u0000\\b\\t\\n\\f\\r\\u001f","\xe2\x80\xa8\xe2\x80\xa9\x7f/","\\"\\\\"]'
    )
    assert dumps(value) == rfc8785.dumps(value)


@given(
    st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([0.0, -0.0, 1.0, 7.5, 1e300]),
    ),
    nesting,
)
def test_floats_are_refused_anywhere(number: float, path: list[tuple[bool, str]]) -> None:
    with pytest.raises(CanonicalizationError):
        dumps(_nest(number, path))


@given(
    st.one_of(st.integers(min_value=MAX + 1), st.integers(max_value=-MAX - 1)),
    nesting,
)
def test_integers_beyond_2_53_are_refused(number: int, path: list[tuple[bool, str]]) -> None:
    with pytest.raises(CanonicalizationError):
        dumps(_nest(number, path))


@given(st.integers(0xD800, 0xDFFF), texts, st.booleans(), nesting)
def test_lone_surrogates_are_refused(
    code: int, around: str, as_key: bool, path: list[tuple[bool, str]]
) -> None:
    text = around + chr(code) + around
    value = {text: 1} if as_key else text
    with pytest.raises(CanonicalizationError):
        dumps(_nest(value, path))


@given(
    st.one_of(
        st.integers(-5, 5), st.booleans(), st.none(), st.just((1, 2)), st.just(b"k"), st.just(1.5)
    ),
    nesting,
)
def test_non_string_keys_are_refused(key: Any, path: list[tuple[bool, str]]) -> None:
    with pytest.raises(CanonicalizationError):
        dumps(_nest({key: "v"}, path))


@pytest.mark.parametrize("value", [b"bytes", {1, 2}, object(), float("nan")])
def test_non_json_values_are_refused(value: Any) -> None:
    with pytest.raises(CanonicalizationError):
        dumps({"a": [value]})


@given(json_values)
def test_loads_exact_round_trips(value: Any) -> None:
    data = dumps(value)
    assert loads_exact(data) == value
    assert dumps(loads_exact(data)) == data
    assert loads_exact(data.decode()) == value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"cvss": 7.50}', {"cvss": "7.50"}),
        ("[1e3, 1E-7, -0.0, 2.5e+10]", ["1e3", "1E-7", "-0.0", "2.5e+10"]),
        ("9007199254740991", MAX),
        ("-9007199254740991", -MAX),
        ("9007199254740992", "9007199254740992"),
        ("-9007199254740993", "-9007199254740993"),
        ("123456789012345678901234567890", "123456789012345678901234567890"),
    ],
)
def test_loads_exact_keeps_inexact_numbers_as_text(text: str, expected: Any) -> None:
    value = loads_exact(text)
    assert value == expected
    # What was read can always be written, and the text survives unchanged.
    assert loads_exact(dumps(value)) == expected


@given(
    st.recursive(
        st.one_of(
            scalars,
            st.floats(allow_nan=False, allow_infinity=False),
            st.integers(),
        ),
        lambda children: st.one_of(
            st.lists(children, max_size=4), st.dictionaries(texts, children, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_loads_exact_never_rounds(value: Any) -> None:
    text = json.dumps(value)
    exact = loads_exact(text)
    # Every number read is either an exact integer or its source text, so
    # the result always has canonical bytes, and nothing was rounded.
    data = dumps(exact)
    assert loads_exact(data) == exact
    assert _numbers_as_text(value) == exact


def _numbers_as_text(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        return json.dumps(value)
    if isinstance(value, int):
        return value if -MAX <= value <= MAX else str(value)
    if isinstance(value, list):
        return [_numbers_as_text(v) for v in value]
    return {k: _numbers_as_text(v) for k, v in value.items()}


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a": -Infinity}', "{", "[1,]", ""])
def test_loads_exact_rejects_non_json(text: str) -> None:
    with pytest.raises(ValueError):
        loads_exact(text)
