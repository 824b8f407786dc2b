// Booking: the form on a listing page (instant book or request), and "my bookings" with the
// cancellation and its refund.
import { api } from "../api.js";
import { session } from "../session.js";
import { el, errorBox, field, fmtDate, input, isoDay, money, showErrors, status } from "../ui.js";
import { needSession } from "./account.js";

function breakdown(price) {
  const rows = [
    ["Subtotal", price.subtotal],
    ["Discount", price.discount, true],
    ["Cleaning fee", price.cleaning_fee],
    ["Service fee", price.guest_fee],
  ].filter(([, m]) => m && m.amount);
  return el(
    "dl",
    { class: "breakdown" },
    rows.map(([label, m, minus]) => [el("dt", {}, label), el("dd", {}, `${minus ? "−" : ""}${money(m)}`)]),
    el("dt", {}, el("strong", {}, "Total")),
    el("dd", { class: "booking-total", dataset: { total: String(price.total.amount) } }, el("strong", {}, money(price.total))),
  );
}

export function bookingForm(listing, chosen, onChange) {
  const today = isoDay(new Date());
  const result = el("div", { class: "booking-result", "aria-live": "polite" });
  const fields = [];
  let body;
  const checkIn = input({ type: "date", min: today, value: chosen.check_in });
  const checkOut = input({ type: "date", min: today, value: chosen.check_out });
  const guests = input({ type: "number", min: "1", max: String(listing.capacity), value: chosen.guests || "1", inputmode: "numeric" });
  const start = input({ type: "datetime-local", step: "3600" });
  const end = input({ type: "datetime-local", step: "3600" });
  const seats = input({ type: "number", min: "1", value: "1", inputmode: "numeric" });
  const quantity = input({ type: "number", min: "1", value: "1", inputmode: "numeric" });
  if (listing.unit === "night") {
    fields.push(field("Check-in", "check_in", checkIn), field("Check-out", "check_out", checkOut), field("Guests", "guests", guests));
    body = () => ({ listing_id: listing.id, check_in: checkIn.value, check_out: checkOut.value, guests: Number(guests.value) });
    for (const c of [checkIn, checkOut]) c.addEventListener("change", onChange);
  } else if (listing.unit === "hour") {
    fields.push(field("Start (UTC)", "start", start), field("End (UTC)", "end", end), field("Seats", "seats", seats));
    const utc = (v) => (v ? `${v.length === 16 ? `${v}:00` : v}Z` : v);
    body = () => ({ listing_id: listing.id, start: utc(start.value), end: utc(end.value), seats: Number(seats.value) });
  } else {
    fields.push(field("Quantity", "quantity", quantity));
    body = () => ({ listing_id: listing.id, quantity: Number(quantity.value) });
  }
  const instant = Boolean(listing.rules?.instant_book);
  const submit = el("button", { type: "submit", class: "primary" }, instant ? "Book now" : "Request to book");
  const form = el(
    "form",
    { class: "book-form", "aria-labelledby": "book-h", novalidate: true },
    el("p", { class: "form-error", role: "alert" }),
    el("div", { class: "row" }, fields),
    el("p", { class: "hint" }, instant ? "Confirmed at once." : "The host answers within 24 hours; nothing is final until then."),
    session.user ? submit : el("a", { class: "button primary", href: `#/signin?next=${encodeURIComponent(location.hash)}` }, "Sign in to book"),
    result,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    submit.disabled = true;
    submit.textContent = "Booking…";
    result.replaceChildren();
    try {
      const booking = await api.book(body());
      form.querySelector(".form-error").textContent = "";
      result.replaceChildren(
        el("p", { class: "ok", role: "status" }, booking.status === "accepted" ? "Booked: confirmed." : "Requested: waiting for the host."),
        breakdown(booking.price),
        el("a", { href: "#/bookings" }, "See it in my bookings"),
      );
    } catch (err) {
      showErrors(form, err);
    } finally {
      submit.disabled = false;
      submit.textContent = instant ? "Book now" : "Request to book";
    }
  });

  // Calendar picks: the first is check-in, the next later one check-out.
  function pick(day) {
    if (!checkIn.value || checkOut.value || day <= checkIn.value) {
      checkIn.value = day;
      checkOut.value = "";
    } else {
      checkOut.value = day;
    }
  }
  return { element: form, pick, chosen: () => ({ check_in: checkIn.value, check_out: checkOut.value }) };
}

const CANCELLABLE = new Set(["requested", "accepted"]);

function when(b) {
  if (b.check_in) return `${fmtDate(b.check_in)} – ${fmtDate(b.check_out)} · ${b.guests} guest${b.guests === 1 ? "" : "s"}`;
  if (b.start) return `${new Date(b.start).toUTCString()} – ${new Date(b.end).toUTCString()}`;
  return `${b.quantity} item${b.quantity === 1 ? "" : "s"}`;
}

export function bookingRow(b, titles, actions) {
  const row = el(
    "li",
    { class: "row-item booking", dataset: { booking: b.id, status: b.status } },
    el(
      "div",
      {},
      el("a", { href: `#/listing/${b.listing_id}` }, titles.get(b.listing_id) || "Listing"),
      el("p", { class: "hint" }, when(b)),
      el("p", {}, el("span", { class: `status ${b.status}` }, b.status), ` · ${money(b.price.total)}`),
      b.refund ? el("p", { class: "refund" }, `Refund: ${money(b.refund)}`) : null,
    ),
  );
  // The actions get the row itself, to replace it once the booking changed.
  row.append(el("div", { class: "actions" }, actions(b, row)));
  return row;
}

async function titlesOf(bookings) {
  const ids = [...new Set(bookings.map((b) => b.listing_id))];
  const titles = new Map();
  await Promise.all(ids.map(async (id) => {
    try {
      titles.set(id, (await api.listing(id)).title);
    } catch {
      titles.set(id, "Listing no longer available");
    }
  }));
  return titles;
}

export async function bookingsView(main) {
  if (needSession(main)) return;
  main.append(el("h1", {}, "My bookings"));
  const box = el("ul", { class: "plain", "aria-busy": "true" }, el("li", {}, status("Loading your bookings…")));
  main.append(box);
  try {
    const page = await api.bookings("guest");
    const titles = await titlesOf(page.items);
    box.replaceChildren();
    if (!page.items.length) box.append(el("li", { class: "empty" }, "No bookings yet."));
    for (const b of page.items) {
      box.append(bookingRow(b, titles, (booking, row) => {
        if (!CANCELLABLE.has(booking.status)) return [];
        const button = el("button", { type: "button", class: "secondary" }, booking.status === "requested" ? "Withdraw request" : "Cancel booking");
        button.addEventListener("click", async () => {
          button.disabled = true;
          try {
            const done = await api.cancel(booking.id);
            const fresh = bookingRow(done, titles, () => []);
            fresh.append(el("p", { class: "ok", role: "status" }, done.refund ? `Cancelled. Refund: ${money(done.refund)} (${done.cancellation_policy} policy).` : "Request withdrawn: nothing is charged."));
            row.replaceWith(fresh);
          } catch (err) {
            button.disabled = false;
            row.append(errorBox(err));
          }
        });
        return [button];
      }));
    }
  } catch (err) {
    box.replaceChildren(el("li", {}, errorBox(err)));
  } finally {
    box.removeAttribute("aria-busy");
  }
}
