// Search: keywords, exact or flexible dates, guests, currency, facets and sort; the result list
// with each stay's total (`quote.total`), infinite scroll on the cursor, and the map beside it.
// The URL carries the search, so a reload, a shared link or a saved search restores it.
import { api } from "../api.js";
import { replace } from "../router.js";
import { session } from "../session.js";
import { clearErrors, digits, el, field, fmtDate, input, isoDay, money, select, showErrors, stars } from "../ui.js";
import { heart } from "./account.js";
import { createMap } from "./map.js";

const SCALAR = ["q", "check_in", "check_out", "nights", "from", "to", "guests", "currency", "sort", "price_min", "price_max", "rating_min", "bbox"];
const MULTI = ["category", "amenities", "city"];
const FACETS = "category,amenities,price,rating,city";
const FACET_SIZE = 8;
const SORTS = [
  ["relevance", "Best match"],
  ["price_asc", "Price: low to high"],
  ["price_desc", "Price: high to low"],
  ["rating", "Rating"],
  ["newest", "Newest"],
];

let firstResults = false; // the Performance API mark is set once per page load

export function stateFrom(params) {
  const state = {};
  for (const k of SCALAR) if (params.get(k)) state[k] = params.get(k);
  for (const k of MULTI) if (params.getAll(k).length) state[k] = params.getAll(k);
  return state;
}

export function toQuery(state) {
  const q = new URLSearchParams();
  for (const k of SCALAR) if (state[k]) q.set(k, state[k]);
  for (const k of MULTI) for (const v of state[k] || []) q.append(k, v);
  return q;
}

// The state as `params` of a saved search: what search takes, typed (integers as numbers).
export function savedParams(state) {
  const out = {};
  for (const [k, v] of Object.entries(state)) {
    out[k] = ["nights", "guests", "price_min", "price_max", "rating_min"].includes(k) ? Number(v) : v;
  }
  return out;
}

export const isDated = (state) => Boolean((state.check_in && state.check_out) || state.nights);

export function hitCard(hit, state, { onHeart } = {}) {
  const link = new URLSearchParams();
  const stayIn = hit.stay?.check_in || state.check_in;
  const stayOut = hit.stay?.check_out || state.check_out;
  if (stayIn && stayOut) {
    link.set("check_in", stayIn);
    link.set("check_out", stayOut);
  }
  if (state.guests) link.set("guests", state.guests);
  if (state.currency) link.set("currency", state.currency);
  const unit = hit.unit === "night" ? "night" : hit.unit === "hour" ? "hour" : "item";
  const quote = hit.quote
    ? el(
        "p",
        { class: "total", dataset: { total: String(hit.quote.total.amount), currency: hit.quote.total.currency } },
        el("strong", {}, money(hit.quote.total)),
        ` total · ${hit.quote.units} ${unit}${hit.quote.units === 1 ? "" : "s"}`,
        // The charge stays in the listing's currency; the guest's currency is a conversion.
        hit.display_quote && hit.display_quote.total.currency !== hit.quote.total.currency
          ? el("span", { class: "converted", dataset: { total: String(hit.display_quote.total.amount) } }, ` (≈ ${money(hit.display_quote.total)})`)
          : null,
      )
    : null;
  return el(
    "article",
    { class: "card", dataset: { id: hit.id } },
    el("div", { class: "photo", "aria-hidden": "true" }, hit.category.slice(0, 1).toUpperCase()),
    el(
      "div",
      { class: "card-body" },
      el("h3", {}, el("a", { href: `#/listing/${hit.id}${link.size ? `?${link}` : ""}` }, hit.title)),
      el("p", { class: "meta" }, `${hit.city} · ${hit.category} · ${stars(hit.review_summary)}`),
      el("p", { class: "price" }, `${money(hit.price)} / ${unit}`, hit.instant_book ? el("span", { class: "tag" }, "Instant book") : null),
      hit.stay ? el("p", { class: "stay" }, `${fmtDate(hit.stay.check_in)} – ${fmtDate(hit.stay.check_out)}`) : null,
      quote,
    ),
    session.user && hit.saved !== undefined ? heart(hit.id, hit.title, hit.saved, onHeart) : null,
  );
}

function facetGroup(name, label, buckets, chosen, onChange) {
  const fs = el("fieldset", { class: "facet" }, el("legend", {}, label));
  // The top values only: a long tail of one-listing cities would push the list off screen.
  const shown = (buckets || []).slice(0, FACET_SIZE);
  for (const b of chosen.filter((v) => !shown.some((s) => s.value === v))) shown.push({ value: b, count: 0 });
  for (const b of shown) {
    const id = `facet-${name}-${b.value}`.replace(/[^a-z0-9-]+/gi, "-");
    fs.append(
      el(
        "div",
        { class: "check" },
        el("input", { type: "checkbox", id, value: b.value, checked: chosen.includes(b.value), onchange: onChange, dataset: { facet: name } }),
        el("label", { for: id }, `${b.value} (${b.count})`),
      ),
    );
  }
  if (!buckets?.length) fs.append(el("p", { class: "hint" }, "—"));
  return fs;
}

export async function searchView(main, params) {
  let state = stateFrom(params);
  const mode = state.nights || state.from || state.to ? "flexible" : "exact";
  const today = isoDay(new Date());

  const q = input({ type: "search", value: state.q || "", list: "suggestions", autocomplete: "off", placeholder: "loft, cabin, Lisbon…" });
  const suggestions = el("datalist", { id: "suggestions" });
  const checkIn = input({ type: "date", value: state.check_in || "", min: today });
  const checkOut = input({ type: "date", value: state.check_out || "", min: today });
  const nights = input({ type: "number", min: "1", max: "365", inputmode: "numeric", value: state.nights || "" });
  const from = input({ type: "date", value: state.from || "" });
  const to = input({ type: "date", value: state.to || "" });
  const guests = input({ type: "number", min: "1", max: "50", inputmode: "numeric", value: state.guests || "" });
  const sort = select(SORTS, state.sort || "relevance");
  const priceMax = input({ type: "number", min: "0", inputmode: "numeric", value: state.price_max ? String(state.price_max / 10 ** digits(state.currency || session.fx?.base || "EUR")) : "" });
  const rating = select([["", "Any"], ["3.5", "3.5+"], ["4", "4+"], ["4.5", "4.5+"]], state.rating_min || "");
  const modeExact = el("input", { type: "radio", name: "datemode", id: "mode-exact", value: "exact", checked: mode === "exact" });
  const modeFlex = el("input", { type: "radio", name: "datemode", id: "mode-flex", value: "flexible", checked: mode === "flexible" });

  const exactBox = el("div", { class: "row", hidden: mode !== "exact" }, field("Check-in", "check_in", checkIn), field("Check-out", "check_out", checkOut));
  const flexBox = el(
    "div",
    { class: "row", hidden: mode !== "flexible" },
    field("Nights", "nights", nights),
    field("Earliest check-in", "from", from),
    field("Latest check-in", "to", to),
  );
  const toggleMode = () => {
    exactBox.hidden = !modeExact.checked;
    flexBox.hidden = !modeFlex.checked;
  };
  modeExact.addEventListener("change", toggleMode);
  modeFlex.addEventListener("change", toggleMode);

  let currency = null;
  if (session.fx?.rates) {
    const codes = [...new Set([session.fx.base, ...Object.keys(session.fx.rates)])].sort();
    currency = select(codes.map((c) => [c, c]), state.currency || session.fx.base);
  }

  const form = el(
    "form",
    { class: "search-form", role: "search", "aria-label": "Search listings", novalidate: true },
    el("p", { class: "form-error", role: "alert" }),
    el("div", { class: "row" }, field("Where or what", "q", q), suggestions),
    el(
      "fieldset",
      { class: "dates" },
      el("legend", {}, "Dates"),
      el("div", { class: "check" }, modeExact, el("label", { for: "mode-exact" }, "Exact dates")),
      el("div", { class: "check" }, modeFlex, el("label", { for: "mode-flex" }, "Flexible")),
    ),
    exactBox,
    flexBox,
    el(
      "div",
      { class: "row" },
      field("Guests", "guests", guests),
      currency ? field("Currency", "currency", currency) : null,
      field("Sort by", "sort", sort),
      field("Max price", "price_max", priceMax),
      field("Rating", "rating_min", rating),
    ),
    el("div", { class: "actions" }, el("button", { type: "submit", class: "primary" }, "Search"), session.user ? el("button", { type: "button", class: "secondary", id: "save-search" }, "Save this search") : null),
  );

  const facetsBox = el("aside", { class: "facets", "aria-label": "Filters" });
  const heading = el("h2", { id: "results-heading", class: "results-heading", "aria-live": "polite" }, " ");
  const list = el("div", { class: "results", id: "results", "aria-labelledby": "results-heading" });
  const more = el("button", { type: "button", class: "secondary more", hidden: true }, "Show more");
  const sentinel = el("div", { class: "sentinel", "aria-hidden": "true" });
  const areaNote = el("p", { class: "area", hidden: true }, "Showing the map's area. ", el("button", { type: "button", class: "link", onclick: () => run({ ...state, bbox: undefined }) }, "Search everywhere"));
  const saveBox = el("div", { class: "save-box" });
  const map = createMap((bbox) => run({ ...state, bbox }, { fromMap: true }));

  main.append(
    el(
      "div",
      { class: "search-layout" },
      el("section", { class: "search-main", "aria-label": "Search" }, form, saveBox, el("div", { class: "list-layout" }, facetsBox, el("div", { class: "list-col" }, heading, areaNote, list, more, sentinel))),
      map.element,
    ),
  );
  map.ready();

  function readForm() {
    const next = { ...state };
    const set = (k, v) => {
      if (v === "" || v === null || v === undefined) delete next[k];
      else next[k] = v;
    };
    set("q", q.value.trim());
    if (modeExact.checked) {
      set("check_in", checkIn.value);
      set("check_out", checkOut.value);
      for (const k of ["nights", "from", "to"]) delete next[k];
    } else {
      set("nights", nights.value);
      set("from", from.value);
      set("to", to.value);
      delete next.check_in;
      delete next.check_out;
    }
    set("guests", guests.value);
    set("sort", sort.value === "relevance" ? "" : sort.value);
    set("price_max", priceMax.value === "" ? "" : String(Math.round(Number(priceMax.value) * 10 ** digits(currency?.value || "EUR"))));
    set("rating_min", rating.value);
    if (currency) set("currency", currency.value);
    for (const box of facetsBox.querySelectorAll("input[data-facet]")) {
      const name = box.dataset.facet;
      next[name] = [...facetsBox.querySelectorAll(`input[data-facet="${name}"]:checked`)].map((b) => b.value);
      if (!next[name].length) delete next[name];
    }
    return next;
  }

  let generation = 0;
  let cursor = null;
  let loading = false;

  function renderFacets(facets) {
    const changed = () => run(readForm());
    facetsBox.replaceChildren(
      el("h2", { class: "sr-only" }, "Filters"),
      facetGroup("category", "Category", facets.category, state.category || [], changed),
      facetGroup("city", "City", facets.city, state.city || [], changed),
      facetGroup("amenities", "Amenities", facets.amenities, state.amenities || [], changed),
      el(
        "div",
        { class: "facet" },
        el("h3", {}, isDated(state) ? "Total for the stay" : "Price"),
        el("ul", { class: "buckets" }, (facets.price || []).filter((b) => b.count).map((b) => el("li", {}, `${bound(b.from) || "0"} – ${bound(b.to) || "more"}: ${b.count}`))),
      ),
    );
  }

  // Price bounds are minor units of the search's currency (or the listings' own).
  const bound = (v) => (v === null || v === undefined ? "" : String(v / 10 ** digits(state.currency || session.fx?.base || "EUR")));

  async function run(next, { fromMap = false } = {}) {
    state = next;
    replace("/", toQuery(state));
    const mine = ++generation;
    cursor = null;
    clearErrors(form);
    areaNote.hidden = !state.bbox;
    list.setAttribute("aria-busy", "true");
    list.replaceChildren(...Array.from({ length: 4 }, () => el("div", { class: "card skeleton", "aria-hidden": "true" })));
    heading.textContent = "Searching…";
    more.hidden = true;
    if (!fromMap && state.bbox) map.showArea(state.bbox);
    // The list first, the map once it is in: on a small server the clusters' aggregation
    // would otherwise compete with the query whose hits the guest is waiting for.
    // After the next paint, too: building the map (Leaflet, outlines) would hold the hits back.
    const drawMap = () => requestAnimationFrame(() => setTimeout(() => mine === generation && map.update(apiParams(state, { map: true }))));
    try {
      const result = await api.search(apiParams(state)).finally(drawMap);
      if (mine !== generation) return;
      list.replaceChildren();
      heading.textContent = `${result.total} ${result.total === 1 ? "stay" : "stays"}${isDated(state) ? " for your dates" : ""}`;
      heading.dataset.total = String(result.total);
      renderFacets(result.facets || {});
      append(result);
      if (!result.hits.length) list.append(el("p", { class: "empty" }, "Nothing matches. Try other dates or fewer filters."));
      if (!firstResults) {
        firstResults = true;
        performance.mark("first-results");
      }
    } catch (err) {
      if (mine !== generation) return;
      list.replaceChildren();
      heading.textContent = "No results";
      showErrors(form, err);
    } finally {
      if (mine === generation) list.removeAttribute("aria-busy");
    }
  }

  function append(result) {
    for (const hit of result.hits) list.append(hitCard(hit, state));
    cursor = result.next_cursor;
    more.hidden = !cursor;
  }

  async function loadMore() {
    if (!cursor || loading) return;
    loading = true;
    const mine = generation;
    more.disabled = true;
    more.textContent = "Loading…";
    try {
      const result = await api.search({ ...apiParams(state), cursor });
      if (mine === generation) append(result);
    } catch (err) {
      if (mine === generation) list.append(el("p", { class: "form-error", role: "alert" }, err.message));
    } finally {
      loading = false;
      more.disabled = false;
      more.textContent = "Show more";
    }
  }

  more.addEventListener("click", loadMore);
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) loadMore();
  }, { rootMargin: "400px" });
  observer.observe(sentinel);

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    run(readForm());
  });

  let suggestTimer = 0;
  q.addEventListener("input", () => {
    clearTimeout(suggestTimer);
    const prefix = q.value.trim();
    if (prefix.length < 2) return;
    suggestTimer = setTimeout(async () => {
      try {
        const { suggestions: items } = await api.suggest(prefix);
        suggestions.replaceChildren(...items.map((s) => el("option", { value: s.text })));
      } catch {
        // Suggestions are a convenience; the search itself reports errors.
      }
    }, 200);
  });

  form.querySelector("#save-search")?.addEventListener("click", () => saveSearchForm(saveBox, readForm()));

  run(state);
  return () => {
    observer.disconnect();
    map.destroy();
  };
}

export function apiParams(state, { map = false } = {}) {
  const p = { ...state };
  // Where the API converts, prices are compared and shown in one currency: the guest's pick,
  // else the rate table's base. Without one, a price sort over a catalogue in several
  // currencies is a 422 (amounts in different currencies are never compared as one).
  if (!p.currency && session.fx?.base) p.currency = session.fx.base;
  if (!map) {
    p.facets = FACETS;
    p.limit = 20;
  }
  return p;
}

function saveSearchForm(box, state) {
  const name = input({ type: "text", required: true, maxlength: "100", value: state.q ? `Search: ${state.q}` : "My search" });
  const form = el(
    "form",
    { class: "inline-form", "aria-label": "Save this search" },
    el("p", { class: "form-error", role: "alert" }),
    field("Name of the saved search", "name", name),
    // A bad parameter is named `params.<name>`: its slot sits here, beside the save button.
    ...Object.keys(state).map((k) => el("p", { class: "field-error", id: `saved-${k}-err`, dataset: { errorFor: `params.${k}` } })),
    el("button", { type: "submit", class: "primary" }, "Save"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await api.saveSearch(name.value.trim(), savedParams(state));
      box.replaceChildren(el("p", { class: "ok", role: "status" }, "Saved. New listings and price drops will show under Notifications."));
    } catch (err) {
      showErrors(form, err);
    }
  });
  box.replaceChildren(form);
  name.focus();
}
