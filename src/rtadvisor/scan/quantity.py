"""Kubernetes resource quantities (``128Mi``, ``500m``, ``1e3``, ``0.5``, ``128974848``).

The grammar is the one of ``k8s.io/apimachinery/pkg/api/resource``::

    <quantity>       ::= <signedNumber><suffix>
    <suffix>         ::= <binarySI> | <decimalExponent> | <decimalSI>
    <binarySI>       ::= Ki | Mi | Gi | Ti | Pi | Ei
    <decimalSI>      ::= n | u | m | "" | k | M | G | T | P | E
    <decimalExponent>::= "e" <signedNumber> | "E" <signedNumber>

Parsing is exact (``Decimal``), so ``format -> parse`` round-trips; the kubernetes Python client has
a similar helper but it pulls the whole client in, and we need our own error type with the bad value.
YAML loaders hand us ``int``/``float`` for unquoted numbers (``memory: 128974848``, ``cpu: 0.5``),
which are accepted as plain numbers.

>>> parse_quantity("128Mi")
Decimal('134217728')
>>> cpu_cores("250m")
0.25
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

from rtadvisor.safeio import show

BINARY_SI: dict[str, int] = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
DECIMAL_SI: dict[str, Decimal] = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}

# number: "1", "1.5", "1.", ".5"; exponent suffix binds before the exa suffix "E" (as in apimachinery).
# ASCII digits only (\d would take any Unicode digit, which apimachinery does not); an exponent of at
# most 9 digits (anything longer is out of range anyway, and int() of 5000 digits is an error).
_QUANTITY = re.compile(
    r"(?P<num>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
    r"(?:(?P<exp>[eE][+-]?\d{1,9})|(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)",
    re.ASCII,
)

MIB = Decimal(2**20)


class QuantityError(ValueError):
    """A value is not a Kubernetes quantity; ``str()`` says what was given and what is expected."""


def _shown(value: object) -> str:
    """The value for a one-line message: control characters escaped, at most ~60 characters."""
    text = show(repr(value))
    return text if len(text) <= 60 else text[:57] + "..."


def parse_quantity(value: object) -> Decimal:
    """Parse a Kubernetes quantity into its exact numeric value (bytes for memory, cores for CPU)."""
    if isinstance(value, bool):  # YAML "yes"/"true" become bools; never a quantity
        raise QuantityError(f"{_shown(value)} is not a quantity (expected e.g. 128Mi, 500m, 1e3, 0.5)")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise QuantityError(f"{_shown(value)} is not a finite quantity")
        return Decimal(repr(value))
    if not isinstance(value, str):
        raise QuantityError(f"{_shown(value)} is not a quantity (expected e.g. 128Mi, 500m, 1e3, 0.5)")
    text = value.strip()
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise QuantityError(f"{_shown(value)} is not a quantity (expected e.g. 128Mi, 500m, 1e3, 0.5)")
    try:
        number = Decimal(match["num"])
        if match["exp"] is not None:
            return number.scaleb(int(match["exp"][1:]))
        suffix = match["suffix"] or ""
        if suffix in BINARY_SI:
            return number * BINARY_SI[suffix]
        return number * DECIMAL_SI[suffix]
    except (InvalidOperation, OverflowError) as exc:  # absurd exponents
        raise QuantityError(f"{_shown(value)} is out of range for a quantity") from exc


def format_quantity(number: Decimal | int | str, suffix: str) -> str:
    """Write ``number`` with ``suffix`` (``""``, a SI/binary suffix, or ``"e<n>"``); used in tests/docs."""
    return f"{number}{suffix}"


def memory_mib(value: object) -> float:
    """Memory quantity in MiB (the unit of ``Workload.memory_mb``); must not be negative."""
    q = parse_quantity(value)
    if q < 0:
        raise QuantityError(f"{_shown(value)} is negative; a memory quantity must be >= 0")
    return _finite(value, float(q / MIB))


def _finite(value: object, number: float) -> float:
    if not math.isfinite(number):
        raise QuantityError(f"{_shown(value)} is out of range for a quantity")
    return number


def cpu_cores(value: object) -> float:
    """CPU quantity in cores (``500m`` -> 0.5); must not be negative."""
    q = parse_quantity(value)
    if q < 0:
        raise QuantityError(f"{_shown(value)} is negative; a CPU quantity must be >= 0")
    return _finite(value, float(q))
