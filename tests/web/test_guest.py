"""A guest's flows in the browser: book and cancel, the wishlist heart."""

from __future__ import annotations

from typing import Any

from tests.web.test_search import stay


def first_card(page: Any, where: str = "#results .card") -> Any:
    page.wait_for_selector("#results:not([aria-busy])")
    return page.locator(where).first


def test_book_then_see_it_under_my_bookings_and_cancel(people: Any) -> None:
    guest = people()
    guest.sign_in("guest2@example.com")
    check_in, check_out = stay(45, 2)
    page = guest.open(f"/?check_in={check_in}&check_out={check_out}&guests=1")
    card = first_card(page)
    total = card.locator(".total").get_attribute("data-total")
    title = card.locator("h3").inner_text()
    card.locator("h3 a").click()
    page.wait_for_selector(".calendar .day")
    guest.shot("listing")
    page.locator(".book-form button[type=submit]").click()
    page.wait_for_selector(".booking-result .ok")
    # The booking charges exactly the quote the result list showed.
    assert page.locator(".booking-total").get_attribute("data-total") == total
    page.get_by_role("link", name="See it in my bookings").click()
    row = page.locator("li.booking").first
    row.wait_for()
    assert title in row.inner_text()
    assert row.get_attribute("data-status") in ("accepted", "requested")
    guest.shot("my-bookings")
    row.get_by_role("button").click()
    done = page.locator("li.booking .ok")
    done.wait_for()
    text = done.inner_text()
    assert "Refund" in text or "withdrawn" in text, text
    assert page.locator("li.booking").first.get_attribute("data-status") in (
        "cancelled",
        "withdrawn",
    )
    guest.shot("my-bookings-cancelled")
    # The session is the HttpOnly cookie: nothing the page's script can read holds a token.
    assert page.evaluate("() => document.cookie") == ""
    assert page.evaluate("() => localStorage.length + sessionStorage.length") == 0


def test_wishlist_heart_survives_a_reload(people: Any) -> None:
    guest = people()
    guest.sign_in("guest3@example.com")
    page = guest.open("/?sort=newest")
    card = first_card(page)
    listing = card.get_attribute("data-id")
    heart = card.locator(".heart")
    assert heart.get_attribute("aria-pressed") == "false"
    heart.click()
    page.wait_for_selector(f".card[data-id='{listing}'] .heart[aria-pressed='true']")
    page.reload()
    again = first_card(page, f"#results .card[data-id='{listing}']")
    assert again.locator(".heart").get_attribute("aria-pressed") == "true"
    page.goto(f"{guest.base}/app/#/wishlist")
    page.wait_for_selector(f".card[data-id='{listing}']")
    guest.shot("wishlist")


def test_book_with_the_keyboard_from_the_calendar(people: Any) -> None:
    guest = people()
    page = guest.open("/signin")
    page.get_by_label("Email", exact=True).fill("guest6@example.com")
    page.get_by_label("Password", exact=True).fill("demo-password")
    page.keyboard.press("Enter")
    page.wait_for_selector("#whoami:has-text('Signed in as')")
    check_in, check_out = stay(20, 2)
    page = guest.open(f"/?check_in={check_in}&check_out={check_out}")
    card = first_card(page)
    total = card.locator(".total").get_attribute("data-total")
    card.locator("h3 a").press("Enter")
    page.wait_for_selector(".calendar .day")
    # Calendar days are buttons: Enter on the first night, then on the day of departure.
    page.locator(f".day[data-date='{check_in}']").press("Enter")
    assert page.get_by_label("Check-out", exact=True).input_value() == ""
    page.locator(f".day[data-date='{check_out}']").press("Enter")
    assert page.get_by_label("Check-in", exact=True).input_value() == check_in
    assert page.get_by_label("Check-out", exact=True).input_value() == check_out
    assert page.locator(f".day.chosen[data-date='{check_in}']").count() == 1
    page.locator(".book-form button[type=submit]").press("Enter")
    page.wait_for_selector(".booking-result .ok")
    assert page.locator(".booking-total").get_attribute("data-total") == total
