"""Kubernetes quantities: every form the API server accepts, and format -> parse round-trips."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtadvisor.scan.quantity import (
    BINARY_SI,
    DECIMAL_SI,
    QuantityError,
    cpu_cores,
    format_quantity,
    memory_mib,
    parse_quantity,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("128Mi", Decimal(128 * 2**20)),
        ("1Ki", Decimal(1024)),
        ("1.5Gi", Decimal(3 * 2**29)),
        ("2Ti", Decimal(2 * 2**40)),
        ("1Pi", Decimal(2**50)),
        ("1Ei", Decimal(2**60)),
        ("129M", Decimal(129_000_000)),
        ("1k", Decimal(1000)),
        ("1G", Decimal(10**9)),
        ("1T", Decimal(10**12)),
        ("1P", Decimal(10**15)),
        ("1E", Decimal(10**18)),  # exa, not an exponent
        ("500m", Decimal("0.5")),
        ("1e3", Decimal(1000)),
        ("1E3", Decimal(1000)),
        ("12e-3", Decimal("0.012")),
        ("0.5", Decimal("0.5")),
        (".5", Decimal("0.5")),
        ("1.", Decimal(1)),
        ("+2", Decimal(2)),
        ("128974848", Decimal(128974848)),
        (128974848, Decimal(128974848)),
        (0.5, Decimal("0.5")),
        (2, Decimal(2)),
        ("100n", Decimal("1e-7")),
        ("3u", Decimal("3e-6")),
    ],
)
def test_parse_every_form(text: object, expected: Decimal) -> None:
    assert parse_quantity(text) == expected


@pytest.mark.parametrize("bad", ["12XB", "Mi", "", "1.2.3", "1 Gi", "1gi", "2e3m", "1e", "0x10", "ten", True, None, [1], "1mi"])
def test_malformed_is_rejected_with_the_value(bad: object) -> None:
    with pytest.raises(QuantityError) as info:
        parse_quantity(bad)
    assert repr(bad) in str(info.value)


def test_units_of_the_profile() -> None:
    assert memory_mib("128Mi") == 128
    assert memory_mib(128974848) == pytest.approx(123.0, rel=1e-3)
    assert memory_mib("1e9") == pytest.approx(953.674, rel=1e-5)
    assert cpu_cores("250m") == 0.25
    assert cpu_cores(2) == 2.0
    with pytest.raises(QuantityError, match="negative"):
        memory_mib("-1Mi")


numbers = st.one_of(
    st.integers(min_value=0, max_value=10**12).map(Decimal),
    st.decimals(min_value=0, max_value=10**9, places=3, allow_nan=False, allow_infinity=False),
)


@given(numbers, st.sampled_from(sorted(BINARY_SI)))
def test_binary_roundtrip(number: Decimal, suffix: str) -> None:
    assert parse_quantity(format_quantity(number, suffix)) == number * BINARY_SI[suffix]


@given(numbers, st.sampled_from(sorted(DECIMAL_SI)))
def test_decimal_si_roundtrip(number: Decimal, suffix: str) -> None:
    assert parse_quantity(format_quantity(number, suffix)) == number * DECIMAL_SI[suffix]


@given(numbers, st.integers(min_value=-9, max_value=18), st.sampled_from(["e", "E"]))
def test_exponent_roundtrip(number: Decimal, exp: int, letter: str) -> None:
    assert parse_quantity(format_quantity(number, f"{letter}{exp}")) == number.scaleb(exp)
