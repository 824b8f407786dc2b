"""The one conversion rule (documents.fx): ISO 4217 exponents, half-even rounding once, and
the exact inverses the search bounds are built from."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from documents.fx import (
    Rates,
    base_figure,
    base_figures,
    convert,
    max_source,
    min_source,
    minor_exponent,
    parse_rate,
)
from documents.values import CURRENCY_EXPONENT

RATES = Rates.of(7, "EUR", {"USD": "1.0832", "KRW": "1456.2", "BHD": "0.4105", "JPY": "162.5"})
CODES = sorted(RATES.table)
amounts = st.integers(min_value=0, max_value=10**12)
codes = st.sampled_from(CODES)


def test_exponents_come_from_iso_4217() -> None:
    assert [minor_exponent(c) for c in ("KRW", "EUR", "BHD", "JPY", "USD")] == [0, 2, 3, 0, 2]
    # The currencies listings may be priced in agree with the ISO data.
    assert {c: minor_exponent(c) for c in CURRENCY_EXPONENT} == CURRENCY_EXPONENT
    for bad in ("ZZZ", "eur", "XAU"):
        with pytest.raises(ValueError):
            minor_exponent(bad)


def test_worked_examples() -> None:
    # 100.00 EUR = 145620 KRW; 145620 KRW back is 100.00 EUR.
    assert convert(RATES, 10_000, "EUR", "KRW") == 145_620
    assert convert(RATES, 145_620, "KRW", "EUR") == 10_000
    # 1.000 BHD = 1 / 0.4105 EUR = 2.43605... EUR -> 244 cents; into KRW via the cross rate.
    assert convert(RATES, 1_000, "BHD", "EUR") == 244
    assert convert(RATES, 1_000, "BHD", "KRW") == round(Fraction(14562, 10) / Fraction("0.4105"))


def test_rounding_is_half_even_once() -> None:
    rates = Rates.of(1, "EUR", {"USD": "1.5"})
    # 1 cent EUR = 1.5 cents USD -> 2 (even); 3 cents = 4.5 -> 4 (even), never 5.
    assert convert(rates, 1, "EUR", "USD") == 2
    assert convert(rates, 3, "EUR", "USD") == 4
    assert convert(rates, 5, "EUR", "USD") == 8  # 7.5 -> 8


@pytest.mark.parametrize("raw", ["0", "-1", "1e3", "NaN", "", " 1.0", "1,5", "Infinity", "0.000"])
def test_rates_must_be_positive_plain_decimals(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_rate(raw)


@given(amounts, codes)
def test_identity_for_the_same_currency(amount: int, code: str) -> None:
    assert convert(RATES, amount, code, code) == amount


@settings(max_examples=300)
@given(amounts, amounts, codes, codes)
def test_monotone(a: int, b: int, source: str, target: str) -> None:
    lo, hi = sorted((a, b))
    assert convert(RATES, lo, source, target) <= convert(RATES, hi, source, target)
    assert base_figure(RATES, lo, source) <= base_figure(RATES, hi, source)


@settings(max_examples=300)
@given(st.integers(min_value=0, max_value=10**9), codes, codes)
def test_inverses_are_exact(bound: int, source: str, target: str) -> None:
    """max_source/min_source are the exact edges of {t: convert(t) <= / >= bound}."""
    t = max_source(RATES, bound, source, target)
    if t >= 0:
        assert convert(RATES, t, source, target) <= bound
    assert convert(RATES, t + 1, source, target) > bound
    u = min_source(RATES, bound, source, target)
    assert convert(RATES, u, source, target) >= bound
    if u > 0:
        assert convert(RATES, u - 1, source, target) < bound


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(["1.5", "2.5", "0.5", "4"]))
def test_inverses_at_exact_ties(bound: int, rate: str) -> None:
    """Rates that put amounts exactly on .5: the tie side must follow half-even."""
    rates = Rates.of(1, "EUR", {"USD": rate})
    t = max_source(rates, bound, "EUR", "USD")
    assert t < 0 or convert(rates, t, "EUR", "USD") <= bound
    assert convert(rates, t + 1, "EUR", "USD") > bound
    u = min_source(rates, bound, "EUR", "USD")
    assert convert(rates, u, "EUR", "USD") >= bound
    assert u == 0 or convert(rates, u - 1, "EUR", "USD") < bound


def test_base_figure_orders_across_currencies() -> None:
    # 145620 KRW and 100.00 EUR are the same money; 1 KRW more is more.
    eur = base_figure(RATES, 10_000, "EUR")
    assert base_figure(RATES, 145_620, "KRW") == eur
    assert base_figure(RATES, 145_621, "KRW") > eur
    assert base_figure(RATES, 145_619, "KRW") < eur


def test_the_demo_table_converts_every_demo_currency() -> None:
    from service.seeding.places import CITIES, demo_rates

    rates = Rates.of(1, "EUR", demo_rates())
    assert {c.currency for c in CITIES} <= set(rates.table)
    # About 1 EUR a unit either way: 1470.6 KRW, and 100 JPY is a little over 0.6 EUR.
    assert convert(rates, 100, "EUR", "KRW") == 1471
    assert convert(rates, 100, "JPY", "EUR") == 62


@settings(max_examples=300)
@given(
    charged=st.integers(min_value=0, max_value=10**9),
    fee_bps=st.integers(min_value=0, max_value=3_000),
    source=codes,
    target=codes,
)
def test_search_bounds_are_exact_on_the_stored_charge(
    charged: int, fee_bps: int, source: str, target: str
) -> None:
    """What search stores (a stay's charge before the guest fee, in the listing's currency)
    against what the guest reads (the converted total): the stored-field bounds search builds
    from a display bound keep the listing at its own display total and drop it one unit off."""
    from service.pricing import guest_total
    from service.search.query import PriceBasis

    basis = PriceBasis("stay_charge.n3", 1, fee_bps)
    shown = convert(RATES, guest_total(charged, fee_bps), source, target)
    assert charged <= basis.upper(max_source(RATES, shown, source, target))
    assert charged > basis.upper(max_source(RATES, shown - 1, source, target))
    assert charged >= basis.lower(min_source(RATES, shown, source, target))
    assert charged < basis.lower(min_source(RATES, shown + 1, source, target))


@given(st.dictionaries(st.text(max_size=3), amounts, max_size=40), codes)
def test_base_figures_of_many_amounts_are_each_ones_base_figure(
    charges: dict[str, int], source: str
) -> None:
    """The projection's batch form (cached factor, clamp only when needed) is base_figure."""
    expected = {k: base_figure(RATES, v, source) for k, v in charges.items()}
    assert base_figures(RATES, source, charges) == expected


def test_base_figures_clamp_like_base_figure() -> None:
    huge = {"n1": 1, "n2": 10**20}
    assert base_figures(RATES, "EUR", huge) == {
        k: base_figure(RATES, v, "EUR") for k, v in huge.items()
    }
    assert base_figures(RATES, "EUR", huge)["n2"] == 2**63 - 1
