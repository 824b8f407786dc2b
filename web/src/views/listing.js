// A listing: photo placeholder, facts, the availability calendar (GET .../availability, whose
// `can_start` is what a booking accepts), the booking form, reviews and similar listings.
import { api } from "../api.js";
import { session } from "../session.js";
import { addDays, el, errorBox, fmtDate, isoDay, money, stars, status } from "../ui.js";
import { heart } from "./account.js";
import { bookingForm } from "./booking.js";
import { hitCard } from "./search.js";

const DAYS_SHOWN = 56; // eight weeks: two months of a phone screen without scrolling sideways

function calendar(avail, chosen, onPick) {
  const grid = el("div", { class: "calendar", role: "grid", "aria-label": "Availability" });
  const weekdays = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"];
  grid.append(el("div", { class: "cal-row", role: "row" }, weekdays.map((d) => el("span", { class: "cal-head", role: "columnheader" }, d))));
  const nights = avail.nights || [];
  if (!nights.length) return grid;
  const first = new Date(`${nights[0].date}T00:00:00Z`);
  const pad = (first.getUTCDay() + 6) % 7;
  let row = el("div", { class: "cal-row", role: "row" });
  for (let i = 0; i < pad; i++) row.append(el("span", { class: "cal-pad", role: "gridcell" }));
  // While a check-in waits for its check-out, later days are pickable even when their own
  // night is taken: the stay ends there, it does not sleep there.
  const choosingOut = chosen.check_in && !chosen.check_out;
  for (const n of nights) {
    if (row.children.length === 7) {
      grid.append(row);
      row = el("div", { class: "cal-row", role: "row" });
    }
    const inStay = chosen.check_in && chosen.check_out && n.date >= chosen.check_in && n.date < chosen.check_out;
    const label = `${fmtDate(n.date)}: ${n.status}${n.can_start ? ", check-in possible" : ""}`;
    row.append(
      el(
        "span",
        { role: "gridcell" },
        el(
          "button",
          {
            type: "button",
            class: `day ${n.status}${n.can_start ? " start" : ""}${inStay ? " chosen" : ""}`,
            "aria-label": label,
            "aria-pressed": inStay ? "true" : "false",
            disabled: !(n.status === "free" || (choosingOut && n.date > chosen.check_in)),
            dataset: { date: n.date },
            onclick: () => onPick(n.date),
          },
          // The month's name on its first day (and on the first one shown): no guessing.
          n.date.endsWith("-01") || n === nights[0]
            ? el("span", { class: "month" }, new Date(`${n.date}T00:00:00Z`).toLocaleDateString("en", { month: "short", timeZone: "UTC" }))
            : null,
          String(Number(n.date.slice(8, 10))),
        ),
      ),
    );
  }
  grid.append(row);
  return grid;
}

export async function listingView(main, params, id) {
  main.append(status("Loading the listing…"));
  let listing;
  try {
    listing = await api.listing(id);
  } catch (err) {
    main.replaceChildren(errorBox(err), el("a", { href: "#/" }, "Back to search"));
    return;
  }
  const chosen = { check_in: params.get("check_in") || "", check_out: params.get("check_out") || "", guests: params.get("guests") || "" };
  const unitWord = listing.unit === "night" ? "night" : listing.unit;
  const calBox = el("div", { class: "cal-box", "aria-busy": "true" }, status("Loading availability…"));
  const reviewsBox = el("ul", { class: "plain reviews" }, el("li", {}, status("Loading reviews…")));
  const similarBox = el("div", { class: "results similar" }, status("Finding similar listings…"));
  const form = bookingForm(listing, chosen, () => drawCalendar());

  main.replaceChildren(
    el(
      "article",
      { class: "listing" },
      el("div", { class: "photo large", role: "img", "aria-label": `Photo of ${listing.title} (placeholder)` }, listing.category),
      el(
        "div",
        { class: "title-row" },
        el("h1", {}, listing.title),
        session.user ? heart(listing.id, listing.title, false) : null,
      ),
      el("p", { class: "meta" }, `${listing.address.city}, ${listing.address.country} · ${listing.category} · ${stars(listing.review_summary)}`),
      el("p", { class: "price" }, `${money(listing.price)} / ${unitWord}`, listing.rules?.instant_book ? el("span", { class: "tag" }, "Instant book") : el("span", { class: "tag" }, "Request to book")),
      el("p", {}, listing.description),
      el("ul", { class: "amenities", "aria-label": "Amenities" }, listing.amenities.map((a) => el("li", {}, a))),
      el(
        "div",
        { class: "listing-grid" },
        el("section", { "aria-labelledby": "avail-h" }, el("h2", { id: "avail-h" }, "Availability"), calBox),
        el("section", { "aria-labelledby": "book-h" }, el("h2", { id: "book-h" }, "Book"), form.element),
      ),
      el("section", { "aria-labelledby": "reviews-h" }, el("h2", { id: "reviews-h" }, "Reviews"), reviewsBox),
      el("section", { "aria-labelledby": "similar-h" }, el("h2", { id: "similar-h" }, "Similar listings"), similarBox),
    ),
  );

  // Whether it is on the wishlist: the wishlist knows (a listing read does not carry it).
  if (session.user) {
    api.wishlist().then((page) => {
      const saved = page.items.some((i) => i.listing_id === listing.id);
      main.querySelector(".title-row .heart")?.setAttribute("aria-pressed", saved ? "true" : "false");
    }).catch(() => {});
  }

  let avail = null;
  function drawCalendar() {
    if (!avail) return;
    calBox.replaceChildren(
      calendar(avail, form.chosen(), (day) => {
        form.pick(day);
        drawCalendar();
      }),
      el("p", { class: "legend" }, el("span", { class: "day free start" }, "free"), " ", el("span", { class: "day booked" }, "booked"), " ", el("span", { class: "day blocked" }, "blocked")),
    );
  }

  const today = isoDay(new Date());
  if (listing.unit === "night") {
    api.availability(id, today, addDays(today, DAYS_SHOWN)).then((a) => {
      avail = a;
      drawCalendar();
    }).catch((err) => calBox.replaceChildren(errorBox(err))).finally(() => calBox.removeAttribute("aria-busy"));
  } else {
    calBox.replaceChildren(el("p", {}, listing.unit === "item" ? `${listing.availability.stock_left ?? listing.stock} in stock` : "Hourly slots: pick a start and end below."));
    calBox.removeAttribute("aria-busy");
  }

  api.reviews(id).then((page) => {
    reviewsBox.replaceChildren();
    if (!page.items.length) reviewsBox.append(el("li", { class: "empty" }, "No reviews yet."));
    for (const r of page.items) reviewsBox.append(el("li", {}, el("strong", {}, "★".repeat(r.rating)), ` ${r.text}`, el("p", { class: "hint" }, fmtDate(r.created_at.slice(0, 10)))));
  }).catch((err) => reviewsBox.replaceChildren(el("li", {}, errorBox(err))));

  const similarParams = chosen.check_in && chosen.check_out ? { check_in: chosen.check_in, check_out: chosen.check_out, guests: chosen.guests || undefined, limit: 6 } : { limit: 6 };
  api.similar(id, similarParams).then((result) => {
    similarBox.replaceChildren();
    if (!result.hits.length) similarBox.append(el("p", { class: "empty" }, "Nothing similar right now."));
    for (const hit of result.hits) similarBox.append(hitCard(hit, chosen));
  }).catch((err) => similarBox.replaceChildren(errorBox(err)));
}
