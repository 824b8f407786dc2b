// The host: create a listing with its pricing rules and publish it; answer incoming requests.
import { api } from "../api.js";
import { hasRole } from "../session.js";
import { el, errorBox, field, input, money, select, showErrors, status, toMinor } from "../ui.js";
import { needSession } from "./account.js";
import { bookingRow } from "./booking.js";

const CURRENCIES = ["EUR", "USD", "GBP", "CHF", "SEK", "JPY"];

function createForm(onCreated) {
  const c = {
    title: input({ type: "text", required: true, maxlength: "200" }),
    description: el("textarea", { rows: 3, maxlength: "10000" }),
    category: input({ type: "text", required: true, value: "apartment" }),
    amenities: input({ type: "text", value: "wifi, kitchen" }),
    line1: input({ type: "text", required: true }),
    city: input({ type: "text", required: true }),
    country: input({ type: "text", required: true, maxlength: "2", value: "NL" }),
    lat: input({ type: "number", step: "any", required: true, value: "52.37" }),
    lon: input({ type: "number", step: "any", required: true, value: "4.89" }),
    price: input({ type: "number", step: "any", min: "0", required: true, value: "100" }),
    currency: select(CURRENCIES.map((x) => [x, x]), "EUR"),
    capacity: input({ type: "number", min: "1", value: "2", inputmode: "numeric" }),
    min_nights: input({ type: "number", min: "1", value: "1", inputmode: "numeric" }),
    instant_book: el("input", { type: "checkbox" }),
    cancellation_policy: select([["flexible", "Flexible"], ["moderate", "Moderate"], ["strict", "Strict"]], "moderate"),
    cleaning_fee: input({ type: "number", step: "any", min: "0", value: "" }),
    weekly: input({ type: "number", min: "0", max: "100", step: "any", value: "" }),
    monthly: input({ type: "number", min: "0", max: "100", step: "any", value: "" }),
  };
  const form = el(
    "form",
    { class: "panel", "aria-labelledby": "create-h", novalidate: true },
    el("h2", { id: "create-h" }, "New listing"),
    el("p", { class: "form-error", role: "alert" }),
    field("Title", "title", c.title),
    field("Description", "description", c.description),
    el("div", { class: "row" }, field("Category", "category", c.category), field("Amenities (comma separated)", "amenities", c.amenities)),
    el("div", { class: "row" }, field("Street", "address.line1", c.line1), field("City", "address.city", c.city), field("Country (2 letters)", "address.country", c.country)),
    el("div", { class: "row" }, field("Latitude", "location.lat", c.lat), field("Longitude", "location.lon", c.lon)),
    el("div", { class: "row" }, field("Price per night", "price.amount", c.price), field("Currency", "price.currency", c.currency), field("Guests", "capacity", c.capacity)),
    el(
      "fieldset",
      {},
      el("legend", {}, "Rules"),
      el("div", { class: "row" }, field("Minimum nights", "rules.min_nights", c.min_nights), field("Cancellation", "rules.cancellation_policy", c.cancellation_policy)),
      el("div", { class: "check" }, c.instant_book, el("label", { for: "instant-book" }, "Instant book (no request step)")),
    ),
    el(
      "fieldset",
      {},
      el("legend", {}, "Pricing"),
      // The API names all of these `pricing` (or `pricing.<field>`): the slot below catches it.
      el("p", { class: "field-error", id: "pricing-err", dataset: { errorFor: "pricing" } }),
      el("div", { class: "row" }, field("Cleaning fee (per stay)", "pricing.cleaning_fee", c.cleaning_fee), field("Weekly discount %", "pricing.weekly_discount_bps", c.weekly), field("Monthly discount %", "pricing.monthly_discount_bps", c.monthly)),
    ),
    el("button", { type: "submit", class: "primary" }, "Create draft"),
  );
  c.instant_book.id = "instant-book";
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const currency = c.currency.value;
    const pct = (v) => Math.round(Number(v) * 100); // percent -> basis points
    const pricing = {};
    if (c.cleaning_fee.value) pricing.cleaning_fee = { amount: toMinor(c.cleaning_fee.value, currency), currency };
    if (c.weekly.value) pricing.weekly_discount_bps = pct(c.weekly.value);
    if (c.monthly.value) pricing.monthly_discount_bps = pct(c.monthly.value);
    const body = {
      title: c.title.value,
      description: c.description.value,
      category: c.category.value,
      amenities: c.amenities.value.split(",").map((a) => a.trim()).filter(Boolean),
      location: { lat: Number(c.lat.value), lon: Number(c.lon.value) },
      address: { line1: c.line1.value, city: c.city.value, country: c.country.value },
      price: { amount: toMinor(c.price.value || 0, currency), currency },
      unit: "night",
      capacity: Number(c.capacity.value),
      rules: { min_nights: Number(c.min_nights.value), instant_book: c.instant_book.checked, cancellation_policy: c.cancellation_policy.value },
      pricing: Object.keys(pricing).length ? pricing : null,
    };
    try {
      const listing = await api.createListing(body);
      form.reset();
      onCreated(listing);
    } catch (err) {
      showErrors(form, err);
    }
  });
  return form;
}

function listingRow(l, refresh) {
  const publish = el("button", { type: "button", class: "primary" }, "Publish");
  publish.addEventListener("click", async () => {
    publish.disabled = true;
    try {
      await api.publish(l.id);
      refresh();
    } catch (err) {
      publish.disabled = false;
      publish.after(errorBox(err));
    }
  });
  const pricing = l.pricing
    ? [
        l.pricing.cleaning_fee ? `cleaning ${money(l.pricing.cleaning_fee)}` : null,
        l.pricing.weekly_discount_bps ? `weekly −${l.pricing.weekly_discount_bps / 100}%` : null,
        l.pricing.monthly_discount_bps ? `monthly −${l.pricing.monthly_discount_bps / 100}%` : null,
      ].filter(Boolean).join(", ")
    : "";
  return el(
    "li",
    { class: "row-item", dataset: { listing: l.id, status: l.status } },
    el("div", {}, el("a", { href: `#/listing/${l.id}` }, l.title), el("p", { class: "hint" }, `${money(l.price)} / ${l.unit}${pricing ? ` · ${pricing}` : ""} · ${l.rules.instant_book ? "instant book" : "request to book"}`)),
    el("span", { class: `status ${l.status}` }, l.status),
    l.status === "draft" ? publish : null,
  );
}

export async function hostView(main) {
  if (needSession(main)) return;
  if (!hasRole("host")) {
    main.append(el("p", { class: "panel" }, "Hosting needs a host account."));
    return;
  }
  const listingsBox = el("ul", { class: "plain", id: "my-listings", "aria-busy": "true" }, el("li", {}, status("Loading your listings…")));
  const requestsBox = el("ul", { class: "plain", id: "requests", "aria-busy": "true" }, el("li", {}, status("Loading requests…")));
  async function loadListings() {
    try {
      const page = await api.myListings();
      listingsBox.replaceChildren(...page.items.map((l) => listingRow(l, loadListings)));
      if (!page.items.length) listingsBox.append(el("li", { class: "empty" }, "No listings yet."));
    } catch (err) {
      listingsBox.replaceChildren(el("li", {}, errorBox(err)));
    } finally {
      listingsBox.removeAttribute("aria-busy");
    }
  }
  async function loadRequests() {
    try {
      const page = await api.bookings("host", { status: "requested" });
      const titles = new Map((await api.myListings()).items.map((l) => [l.id, l.title]));
      requestsBox.replaceChildren();
      if (!page.items.length) requestsBox.append(el("li", { class: "empty" }, "No requests waiting."));
      for (const b of page.items) {
        requestsBox.append(bookingRow(b, titles, (booking, row) => {
          const answer = (verb, call) => {
            const button = el("button", { type: "button", class: verb === "Accept" ? "primary" : "secondary" }, verb);
            button.addEventListener("click", async () => {
              button.disabled = true;
              try {
                const done = await call(booking.id);
                row.replaceWith(bookingRow(done, titles, () => []));
              } catch (err) {
                button.disabled = false;
                row.append(errorBox(err));
              }
            });
            return button;
          };
          return [answer("Accept", api.accept), answer("Decline", api.decline)];
        }));
      }
    } catch (err) {
      requestsBox.replaceChildren(el("li", {}, errorBox(err)));
    } finally {
      requestsBox.removeAttribute("aria-busy");
    }
  }
  main.append(
    el("h1", {}, "Hosting"),
    el("section", { "aria-labelledby": "req-h" }, el("h2", { id: "req-h" }, "Requests waiting for you"), requestsBox),
    el("section", { "aria-labelledby": "mine-h" }, el("h2", { id: "mine-h" }, "Your listings"), listingsBox),
    createForm(() => loadListings()),
  );
  await Promise.all([loadListings(), loadRequests()]);
}
