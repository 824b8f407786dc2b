"""The marketplace's exchange-rate table and the one money conversion everything uses.

The table is versioned: every change inserts a new `FxTable` with the next `version` (a unique
index makes two tables with one version impossible), so a search result can say which rates it
used and the indexer can tell that its projection is out of date.

Conversion (`convert`) is written once, here, because the search bounds, the search display
and the indexer's sort figures must agree to the minor unit: exact rational arithmetic on the
decimal rates, each currency's ISO 4217 minor-unit exponent, rounded half-even exactly once.
It lives in `documents` so that both `indexers` and `service` may import it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

import pymongo
from beanie import Document
from iso4217 import Currency as Iso4217
from pydantic import Field

from documents.values import utcnow

# Sort figures are base-currency minor units times this: floor() keeps them in order, and two
# stays whose exact base values differ by at least 1e-6 of a base minor unit never tie.
BASE_FIGURE_SCALE = 10**6
LONG_MAX = 2**63 - 1
_BASE_FIGURE = "\x00base-figure"  # a `Rates._ratios` key no currency code can be
# Plain decimals only: no sign, exponent, NaN or spaces, at most 30 significant characters.
_DECIMAL = re.compile(r"[0-9]{1,18}(\.[0-9]{1,12})?")


@functools.cache
def minor_exponent(code: str) -> int:
    """ISO 4217 minor-unit exponent (KRW 0, EUR 2, BHD 3), from the maintained `iso4217` data.

    ValueError for a code that is not ISO 4217 or has no minor unit (XAU, XXX: not money)."""
    try:
        exponent = Iso4217(code).exponent
    except ValueError:
        raise ValueError(f"{code!r} is not an ISO 4217 currency code") from None
    if exponent is None:
        raise ValueError(f"{code!r} has no minor unit (not a currency one can charge in)")
    return int(exponent)


def parse_rate(raw: str) -> Fraction:
    """A rate as the API takes it: a plain positive decimal string ("1456.2")."""
    if not isinstance(raw, str) or not _DECIMAL.fullmatch(raw):
        raise ValueError("must be a decimal string such as '1.0832'")
    value = Fraction(Decimal(raw))
    if value <= 0:
        raise ValueError("must be positive")
    return value


class FxTable(Document):
    """One version of the table: 1 `base` = `rates[code]` units of `code` (decimal strings,
    kept as strings so the exact figure the admin typed is what is stored and converted)."""

    version: int
    base: str
    rates: dict[str, str] = Field(default_factory=dict)
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by: str | None = None

    class Settings:
        name = "fx_tables"
        use_state_management = False
        indexes = [pymongo.IndexModel([("version", -1)], name="version_unique", unique=True)]

    def rates_of(self) -> Rates:
        return Rates.of(self.version, self.base, self.rates)


@dataclass(frozen=True)
class Rates:
    """A table ready to convert with: exact rates, the base at 1."""

    version: int
    base: str
    table: dict[str, Fraction]
    # (source, target) -> the exact factor as (numerator, denominator): every search converts
    # many amounts, and integer arithmetic on these is what keeps that cheap.
    _ratios: dict[tuple[str, str], tuple[int, int]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(cls, version: int, base: str, rates: dict[str, str]) -> Rates:
        table = {code: parse_rate(r) for code, r in rates.items()}
        table[base] = Fraction(1)
        return cls(version, base, table)

    def knows(self, code: str) -> bool:
        return code in self.table

    def factor(self, source: str, target: str) -> Fraction:
        """Minor units of `target` per minor unit of `source`, exactly."""
        scale = Fraction(10) ** (minor_exponent(target) - minor_exponent(source))
        return self.table[target] / self.table[source] * scale

    def ratio(self, source: str, target: str) -> tuple[int, int]:
        """`factor` as (numerator, denominator) in lowest terms, cached."""
        key = (source, target)
        cached = self._ratios.get(key)
        if cached is None:
            f = self.factor(source, target)
            cached = self._ratios[key] = (f.numerator, f.denominator)
        return cached

    def base_ratio(self, source: str) -> tuple[int, int]:
        """`factor(source, base) * BASE_FIGURE_SCALE` as (numerator, denominator), cached: the
        indexer makes 31 base figures per listing, and building the Fraction each time cost
        more than the figures themselves."""
        key = (source, _BASE_FIGURE)
        cached = self._ratios.get(key)
        if cached is None:
            f = self.factor(source, self.base) * BASE_FIGURE_SCALE
            cached = self._ratios[key] = (f.numerator, f.denominator)
        return cached


def convert(rates: Rates, amount: int, source: str, target: str) -> int:
    """`amount` minor units of `source` in minor units of `target`: THE conversion.

    amount * (rate_target / rate_source) * 10^(exp_target - exp_source), computed exactly and
    rounded half-even once. Non-decreasing in `amount`; the identity when source == target."""
    if source == target:
        return amount
    num, den = rates.ratio(source, target)
    q, r = divmod(amount * num, den)  # amount x factor = q + r/den, exactly
    if 2 * r > den or (2 * r == den and q % 2 == 1):
        q += 1
    return q


def max_source(rates: Rates, bound: int, source: str, target: str) -> int:
    """The largest amount of `source` whose conversion to `target` is <= `bound` (-1: none).

    Exact inversion of `convert`: round_half_even(x) <= P  <=>  x < P + 1/2, or x == P + 1/2
    with P even (a tie rounds to the even neighbour)."""
    if source == target:
        return bound
    if bound < 0:
        return -1
    num, den = rates.ratio(source, target)
    # t x factor <= (2 bound + 1) / 2  <=>  t x 2 num <= (2 bound + 1) x den
    edge = (2 * bound + 1) * den
    t = edge // (2 * num)
    if t * 2 * num == edge and bound % 2 == 1:
        t -= 1
    return t


def min_source(rates: Rates, bound: int, source: str, target: str) -> int:
    """The smallest amount of `source` >= 0 whose conversion to `target` is >= `bound`.

    round_half_even(x) >= P  <=>  x > P - 1/2, or x == P - 1/2 with P even."""
    if source == target:
        return max(bound, 0)
    if bound <= 0:
        return 0
    num, den = rates.ratio(source, target)
    edge = (2 * bound - 1) * den
    t = -(-edge // (2 * num))
    if t * 2 * num == edge and bound % 2 == 1:
        t += 1
    return t


def base_figure(rates: Rates, amount: int, source: str) -> int:
    """A sort key comparable across currencies: the amount in base minor units, exactly,
    times BASE_FIGURE_SCALE, floored (monotone, so it never reorders one currency's amounts;
    across currencies it orders by the exact value, which `convert` then rounds monotonically).
    Clamped to the long range Elasticsearch stores."""
    return base_figurer(rates, source)(amount)


def base_figurer(rates: Rates, source: str) -> Callable[[int], int]:
    """`base_figure` for many amounts of one currency: the exact factor as two integers, so
    each figure is one integer multiply and floor division (the projection makes 31 each)."""
    num, den = rates.base_ratio(source)

    def figure(amount: int) -> int:
        return min(amount * num // den, LONG_MAX)

    return figure


def base_figures(rates: Rates, source: str, amounts: dict[str, int]) -> dict[str, int]:
    """`{key: base_figure(rates, amount, source)}` for many amounts at once (the projection's
    stay figures): the same integer multiply and floor, and the clamp only when the largest
    amount needs it (the figure is non-decreasing in the amount: num and den are positive)."""
    num, den = rates.base_ratio(source)
    if not amounts:
        return {}
    if max(amounts.values()) * num // den > LONG_MAX:
        return {k: min(v * num // den, LONG_MAX) for k, v in amounts.items()}
    return {k: v * num // den for k, v in amounts.items()}
