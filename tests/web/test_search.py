"""Search in the browser: totals, the map, infinite scroll, errors next to their field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx


def stay(offset: int = 30, nights: int = 3) -> tuple[str, str]:
    start = datetime.now(UTC).date() + timedelta(days=offset)
    return start.isoformat(), (start + timedelta(days=nights)).isoformat()


def cards(page: Any) -> list[dict[str, Any]]:
    return page.eval_on_selector_all(
        "#results .card",
        """els => els.map(e => ({
            id: e.dataset.id,
            total: e.querySelector('.total')?.dataset.total ?? null,
            currency: e.querySelector('.total')?.dataset.currency ?? null,
        }))""",
    )


def test_dated_search_shows_the_api_quotes(people: Any, web_url: str) -> None:
    check_in, check_out = stay()
    guest = people()
    page = guest.open("/")
    page.get_by_label("Check-in", exact=True).fill(check_in)
    page.get_by_label("Check-out", exact=True).fill(check_out)
    page.get_by_label("Guests", exact=True).fill("2")
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_selector("#results-heading:has-text('for your dates')")
    page.wait_for_selector("#results:not([aria-busy])")
    shown = cards(page)
    assert shown, "a dated search in the demo data finds stays"
    api = httpx.get(
        f"{web_url}/v1/search/listings",
        params={
            "check_in": check_in,
            "check_out": check_out,
            "guests": 2,
            "currency": httpx.get(f"{web_url}/v1/fx", timeout=30).json()["base"],
            "limit": 20,
        },
        timeout=30,
    ).json()
    quotes = {h["id"]: h["quote"]["total"] for h in api["hits"]}
    assert [c["id"] for c in shown] == list(quotes)
    for c in shown:
        assert int(c["total"]) == quotes[c["id"]]["amount"], c
        assert c["currency"] == quotes[c["id"]]["currency"]
    assert page.locator("#results-heading").get_attribute("data-total") == str(api["total"])
    guest.shot("search-dated")


def test_map_clusters_sum_to_the_list_total(people: Any) -> None:
    guest = people()
    page = guest.open("/")

    def settled() -> tuple[int, int, int]:
        page.wait_for_selector("#results:not([aria-busy])")
        page.wait_for_selector(".map-panel:not([aria-busy]) #map-total[data-sum]")
        total = int(page.locator("#results-heading").get_attribute("data-total") or -1)
        drawn = page.eval_on_selector_all(
            ".leaflet-marker-icon.cluster", "els => els.map(e => Number(e.dataset.count))"
        )
        return total, sum(drawn), int(page.locator("#map-total").get_attribute("data-sum") or -1)

    total, drawn, summed = settled()
    assert total > 0
    assert drawn == summed == total
    guest.shot("search-map-world")

    # The user's move searches the map's area: the list narrows, the clusters still add up.
    page.locator(".map").focus()
    for _ in range(3):
        page.keyboard.press("+")
        page.wait_for_timeout(400)
    page.wait_for_selector(".area:not([hidden])")
    assert "bbox=" in page.url
    total, drawn, summed = settled()
    assert drawn == summed == total
    guest.shot("search-map-area")


def test_infinite_scroll_follows_the_cursor(people: Any, web_url: str) -> None:
    guest = people()
    page = guest.open("/?sort=newest")
    page.wait_for_selector("#results:not([aria-busy]) .card")
    assert page.locator("#results .card").count() == 20
    page.locator(".sentinel").scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelectorAll('#results .card').length > 20")
    ids = [c["id"] for c in cards(page)]
    first = httpx.get(
        f"{web_url}/v1/search/listings", params={"sort": "newest", "limit": 20}, timeout=30
    ).json()
    second = httpx.get(
        f"{web_url}/v1/search/listings",
        params={"sort": "newest", "limit": 20, "cursor": first["next_cursor"]},
        timeout=30,
    ).json()
    expected = [h["id"] for h in first["hits"] + second["hits"]]
    assert ids[: len(expected)] == expected
    assert len(set(ids)) == len(ids)


def test_a_422_shows_next_to_its_field(people: Any) -> None:
    guest = people()
    page = guest.open("/")
    page.get_by_label("Flexible", exact=True).check()
    page.get_by_label("Nights", exact=True).fill("3")
    a, b = stay(40), stay(20)
    page.get_by_label("Earliest check-in", exact=True).fill(a[0])
    page.get_by_label("Latest check-in", exact=True).fill(b[0])
    page.get_by_role("button", name="Search", exact=True).click()
    slot = page.locator("[data-error-for='from']")
    slot.wait_for()
    page.wait_for_function("() => document.querySelector(\"[data-error-for='from']\").textContent")
    assert slot.inner_text().strip()
    earliest = page.get_by_label("Earliest check-in", exact=True)
    assert earliest.get_attribute("aria-invalid") == "true"
    # Only the named field shows it: the others stay quiet.
    assert not page.locator("[data-error-for='nights']").inner_text().strip()
    guest.shot("search-422")


def test_phone_width(people: Any) -> None:
    guest = people(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = guest.open("/")
    page.wait_for_selector("#results:not([aria-busy]) .card")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at phone width ({width}px)"
    guest.shot("search-phone")


def test_flexible_dates_show_each_stay_and_its_quote(people: Any, web_url: str) -> None:
    start, end = stay(10, 0)[0], stay(40, 0)[0]
    guest = people()
    page = guest.open(f"/?nights=4&from={start}&to={end}&sort=price_asc")
    page.wait_for_selector("#results:not([aria-busy]) .card .stay")
    assert page.get_by_label("Flexible", exact=True).is_checked()
    # The page compares prices in the rate table's base currency unless the guest picks one.
    base = httpx.get(f"{web_url}/v1/fx", timeout=30).json()["base"]
    params = {"nights": 4, "from": start, "to": end, "sort": "price_asc", "currency": base}
    api = httpx.get(
        f"{web_url}/v1/search/listings", params={**params, "limit": 20}, timeout=30
    ).json()
    shown = cards(page)
    assert [c["id"] for c in shown] == [h["id"] for h in api["hits"]]
    assert [int(c["total"]) for c in shown] == [h["quote"]["total"]["amount"] for h in api["hits"]]
    guest.shot("search-flexible")


def test_a_facet_narrows_the_list_to_its_count(people: Any) -> None:
    guest = people()
    page = guest.open("/")
    page.wait_for_selector("#results:not([aria-busy]) .card")
    box = page.locator("input[data-facet=category]").first
    value = box.get_attribute("value")
    label = page.locator(f"label[for='{box.get_attribute('id')}']").inner_text()
    count = int(label.rsplit("(", 1)[1].rstrip(")"))
    box.check()
    page.wait_for_function(
        "n => document.querySelector('#results-heading').dataset.total === String(n)", arg=count
    )
    assert f"category={value}" in page.url
    assert page.locator(f"input[data-facet=category][value='{value}']").is_checked()
