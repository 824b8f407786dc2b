"""Real cities on six continents, with the currency listings there are priced in."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple


class City(NamedTuple):
    name: str
    country: str  # ISO 3166-1 alpha-2
    currency: str  # ISO 4217, one of documents.values.CURRENCY_EXPONENT
    lat: float
    lon: float
    weight: int  # relative share of listings (bigger markets get more)


CITIES: tuple[City, ...] = (
    # Europe
    City("Amsterdam", "NL", "EUR", 52.3676, 4.9041, 6),
    City("Paris", "FR", "EUR", 48.8566, 2.3522, 9),
    City("Berlin", "DE", "EUR", 52.5200, 13.4050, 7),
    City("Lisbon", "PT", "EUR", 38.7223, -9.1393, 6),
    City("Barcelona", "ES", "EUR", 41.3874, 2.1686, 7),
    City("Rome", "IT", "EUR", 41.9028, 12.4964, 7),
    City("Vienna", "AT", "EUR", 48.2082, 16.3738, 4),
    City("Dublin", "IE", "EUR", 53.3498, -6.2603, 3),
    City("Athens", "GR", "EUR", 37.9838, 23.7275, 4),
    City("Helsinki", "FI", "EUR", 60.1699, 24.9384, 2),
    City("London", "GB", "GBP", 51.5072, -0.1276, 9),
    City("Edinburgh", "GB", "GBP", 55.9533, -3.1883, 3),
    City("Zurich", "CH", "CHF", 47.3769, 8.5417, 3),
    City("Stockholm", "SE", "SEK", 59.3293, 18.0686, 3),
    City("Oslo", "NO", "NOK", 59.9139, 10.7522, 2),
    City("Copenhagen", "DK", "DKK", 55.6761, 12.5683, 3),
    City("Krakow", "PL", "PLN", 50.0647, 19.9450, 3),
    # North America
    City("New York", "US", "USD", 40.7128, -74.0060, 9),
    City("San Francisco", "US", "USD", 37.7749, -122.4194, 5),
    City("Chicago", "US", "USD", 41.8781, -87.6298, 4),
    City("Austin", "US", "USD", 30.2672, -97.7431, 3),
    City("Miami", "US", "USD", 25.7617, -80.1918, 4),
    City("Toronto", "CA", "CAD", 43.6532, -79.3832, 4),
    City("Vancouver", "CA", "CAD", 49.2827, -123.1207, 3),
    City("Mexico City", "MX", "MXN", 19.4326, -99.1332, 5),
    # South America
    City("Rio de Janeiro", "BR", "BRL", -22.9068, -43.1729, 5),
    City("Sao Paulo", "BR", "BRL", -23.5558, -46.6396, 4),
    City("Florianopolis", "BR", "BRL", -27.5954, -48.5480, 2),
    # Africa
    City("Cape Town", "ZA", "ZAR", -33.9249, 18.4241, 4),
    City("Johannesburg", "ZA", "ZAR", -26.2041, 28.0473, 2),
    # Asia
    City("Tokyo", "JP", "JPY", 35.6762, 139.6503, 8),
    City("Kyoto", "JP", "JPY", 35.0116, 135.7681, 4),
    City("Osaka", "JP", "JPY", 34.6937, 135.5023, 3),
    City("Seoul", "KR", "KRW", 37.5665, 126.9780, 5),
    City("Busan", "KR", "KRW", 35.1796, 129.0756, 2),
    City("Singapore", "SG", "SGD", 1.3521, 103.8198, 4),
    City("Mumbai", "IN", "INR", 19.0760, 72.8777, 4),
    City("Bangalore", "IN", "INR", 12.9716, 77.5946, 3),
    City("Panaji", "IN", "INR", 15.4909, 73.8278, 2),
    # Oceania
    City("Sydney", "AU", "AUD", -33.8688, 151.2093, 5),
    City("Melbourne", "AU", "AUD", -37.8136, 144.9631, 4),
    City("Auckland", "NZ", "NZD", -36.8485, 174.7633, 3),
    City("Queenstown", "NZ", "NZD", -45.0312, 168.6626, 2),
)

# Rough value of one major unit in euros, to price a category consistently across currencies.
EUR_PER_UNIT: dict[str, float] = {
    "EUR": 1.0,
    "USD": 0.92,
    "GBP": 1.17,
    "CHF": 1.05,
    "SEK": 0.088,
    "NOK": 0.086,
    "DKK": 0.134,
    "PLN": 0.23,
    "CAD": 0.68,
    "AUD": 0.61,
    "NZD": 0.56,
    "BRL": 0.17,
    "MXN": 0.05,
    "ZAR": 0.05,
    "INR": 0.011,
    "SGD": 0.69,
    "JPY": 0.0062,
    "KRW": 0.00068,
}

# Cost of living relative to the euro area, so a Tokyo flat is not priced like a Panaji one.
PRICE_LEVEL: dict[str, float] = {
    "CH": 1.6,
    "NO": 1.4,
    "DK": 1.3,
    "US": 1.3,
    "GB": 1.25,
    "SG": 1.3,
    "AU": 1.15,
    "NZ": 1.1,
    "IE": 1.2,
    "SE": 1.1,
    "CA": 1.1,
    "FI": 1.1,
    "JP": 0.95,
    "KR": 0.85,
    "PL": 0.65,
    "GR": 0.75,
    "PT": 0.8,
    "MX": 0.55,
    "BR": 0.5,
    "ZA": 0.5,
    "IN": 0.35,
}

STREETS: tuple[str, ...] = (
    "Harbour Street",
    "Market Lane",
    "Station Road",
    "Garden Walk",
    "River View",
    "Old Town Square",
    "Park Avenue",
    "Hillside Road",
    "Canal Street",
    "Mill Lane",
    "Church Street",
    "Castle Road",
    "Beach Road",
    "Orchard Close",
    "Bridge Street",
    "Chapel Row",
    "Fountain Place",
    "Lighthouse Way",
    "Vineyard Lane",
    "Cedar Court",
)

NEIGHBOURHOODS: tuple[str, ...] = (
    "the old town",
    "the harbour",
    "the city centre",
    "the university quarter",
    "the riverside",
    "a quiet residential street",
    "the arts district",
    "the market",
    "the main station",
    "the park",
    "the waterfront",
    "the hills",
)


def demo_rates() -> dict[str, str]:
    """The demo exchange-rate table (base EUR) from the same rough values the demo prices
    use: 1 EUR = 1 / EUR_PER_UNIT[code], as a decimal string of five significant digits."""
    out = {}
    for code, per_unit in sorted(EUR_PER_UNIT.items()):
        if code != "EUR":
            rate = Decimal(1) / Decimal(str(per_unit))
            out[code] = format(rate.quantize(Decimal(1).scaleb(rate.adjusted() - 4)), "f")
    return out
