"""A host creates and publishes a listing with pricing rules; a guest requests it; the host
accepts; the guest sees it accepted."""

from __future__ import annotations

import uuid
from typing import Any

from tests.web.test_search import stay


def test_host_accepts_a_request_and_the_guest_sees_it(people: Any) -> None:
    host = people()
    host.sign_in("host2@example.com")
    page = host.open("/host")
    title = f"Canal studio {uuid.uuid4().hex[:6]}"
    form = page.locator("form[aria-labelledby=create-h]")
    form.get_by_label("Title", exact=True).fill(title)
    form.get_by_label("Street", exact=True).fill("Prinsengracht 2")
    form.get_by_label("City", exact=True).fill("Amsterdam")
    form.get_by_label("Price per night", exact=True).fill("90")
    form.get_by_label("Cleaning fee (per stay)", exact=True).fill("25")
    form.get_by_label("Weekly discount %", exact=True).fill("10")
    form.get_by_role("button", name="Create draft").click()
    row = page.locator("#my-listings li", has_text=title)
    row.wait_for()
    assert row.get_attribute("data-status") == "draft"
    assert "cleaning €25.00" in row.inner_text() and "weekly \u221210%" in row.inner_text()
    listing_id = row.get_attribute("data-listing")
    row.get_by_role("button", name="Publish").click()
    page.wait_for_selector(f"#my-listings li[data-listing='{listing_id}'][data-status=published]")
    host.shot("host-listings")

    guest = people()
    guest.sign_in("guest4@example.com")
    check_in, check_out = stay(50, 7)
    gpage = guest.open(f"/listing/{listing_id}?check_in={check_in}&check_out={check_out}")
    gpage.get_by_role("button", name="Request to book").click()
    gpage.wait_for_selector(".booking-result .ok")
    assert "Requested" in gpage.locator(".booking-result .ok").inner_text()
    # 7 nights x 90 = 630, 10% weekly off = 567, + 25 cleaning = 592, + 5% guest fee = 621.60.
    assert gpage.locator(".booking-total").get_attribute("data-total") == "62160"

    page = host.open("/host")
    request = page.locator("#requests li.booking", has_text=title)
    request.wait_for()
    host.shot("host-requests")
    request.get_by_role("button", name="Accept").click()
    page.wait_for_selector("#requests li.booking[data-status=accepted]")

    gpage = guest.open("/bookings")
    mine = gpage.locator("li.booking", has_text=title)
    mine.wait_for()
    assert mine.get_attribute("data-status") == "accepted"
    guest.shot("guest-accepted")


def test_a_listing_422_shows_next_to_its_field(people: Any) -> None:
    host = people()
    host.sign_in("host3@example.com")
    page = host.open("/host")
    form = page.locator("form[aria-labelledby=create-h]")
    form.get_by_label("Title", exact=True).fill("Bad country")
    form.get_by_label("Street", exact=True).fill("Somewhere 1")
    form.get_by_label("City", exact=True).fill("Amsterdam")
    form.get_by_label("Country (2 letters)", exact=True).fill("nl")
    form.get_by_role("button", name="Create draft").click()
    slot = form.locator("[data-error-for='address.country']")
    page.wait_for_function(
        "() => document.querySelector(\"[data-error-for='address.country']\").textContent"
    )
    assert slot.inner_text().strip()
    assert form.get_by_label("Country (2 letters)", exact=True).get_attribute("aria-invalid")
    host.shot("host-422")
