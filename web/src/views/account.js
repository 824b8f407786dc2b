// The guest's own things: sign in, wishlist hearts, saved searches and notifications.
import { api } from "../api.js";
import { session, signIn } from "../session.js";
import { el, errorBox, field, fmtDate, input, money, showErrors, status } from "../ui.js";

// A toggle button: aria-pressed says whether the listing is on the wishlist.
export function heart(listingId, title, saved, onChange) {
  const button = el("button", {
    type: "button",
    class: "heart",
    "aria-pressed": saved ? "true" : "false",
    "aria-label": `Save ${title} to the wishlist`,
    dataset: { listing: listingId },
  }, "♥");
  button.addEventListener("click", async () => {
    const now = button.getAttribute("aria-pressed") !== "true";
    button.disabled = true;
    try {
      await (now ? api.save(listingId) : api.unsave(listingId));
      button.setAttribute("aria-pressed", now ? "true" : "false");
      onChange?.(now);
    } catch (err) {
      button.title = err.message;
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

export function signInView(main, params) {
  const email = input({ type: "email", autocomplete: "username", required: true });
  const password = input({ type: "password", autocomplete: "current-password", required: true });
  const form = el(
    "form",
    { class: "panel narrow", "aria-labelledby": "signin-h", novalidate: true },
    el("h1", { id: "signin-h" }, "Sign in"),
    el("p", { class: "form-error", role: "alert" }),
    field("Email", "email", email),
    field("Password", "password", password),
    el("button", { type: "submit", class: "primary" }, "Sign in"),
    el("p", { class: "hint" }, "Demo accounts: guest1@example.com or host1@example.com, password demo-password."),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await signIn(email.value.trim(), password.value);
      const back = params.get("next");
      location.hash = back ? decodeURIComponent(back) : "#/";
    } catch (err) {
      showErrors(form, err);
    } finally {
      button.disabled = false;
    }
  });
  main.append(form);
  email.focus();
}

export function needSession(main) {
  if (session.user) return false;
  const next = encodeURIComponent(location.hash || "#/");
  main.append(el("div", { class: "panel" }, el("p", {}, "Sign in to see this page. "), el("a", { href: `#/signin?next=${next}`, class: "button primary" }, "Sign in")));
  return true;
}

export async function wishlistView(main) {
  if (needSession(main)) return;
  main.append(el("h1", {}, "Wishlist"));
  const box = el("div", { class: "results", "aria-busy": "true" }, status("Loading your wishlist…"));
  main.append(box);
  try {
    const page = await api.wishlist();
    box.replaceChildren();
    if (!page.items.length) box.append(el("p", { class: "empty" }, "Nothing saved yet: tap a heart in the results."));
    for (const item of page.items) {
      const l = item.listing;
      box.append(
        el(
          "article",
          { class: "card", dataset: { id: item.listing_id } },
          el("div", { class: "photo", "aria-hidden": "true" }, l ? l.category.slice(0, 1).toUpperCase() : "–"),
          el(
            "div",
            { class: "card-body" },
            l ? el("h3", {}, el("a", { href: `#/listing/${l.id}` }, l.title)) : el("h3", {}, "No longer available"),
            l ? el("p", { class: "meta" }, `${l.city} · ${l.category} · ${money(l.price)}`) : null,
            el("p", { class: "hint" }, `Saved ${new Date(item.saved_at).toLocaleDateString()}`),
          ),
          heart(item.listing_id, l?.title || "this listing", true, (saved) => !saved && box.querySelector(`[data-id="${item.listing_id}"]`)?.remove()),
        ),
      );
    }
  } catch (err) {
    box.replaceChildren(errorBox(err));
  } finally {
    box.removeAttribute("aria-busy");
  }
}

function describe(params) {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("|") : v}`)
    .join(", ");
}

export async function savedView(main) {
  if (needSession(main)) return;
  main.append(el("h1", {}, "Saved searches"));
  const box = el("ul", { class: "plain", "aria-busy": "true" }, el("li", {}, status("Loading…")));
  main.append(box);
  try {
    const page = await api.savedSearches();
    box.replaceChildren();
    if (!page.items.length) box.append(el("li", { class: "empty" }, "No saved searches: use “Save this search” on the search page."));
    for (const s of page.items) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(s.params)) for (const x of Array.isArray(v) ? v : [v]) q.append(k, String(x));
      const row = el(
        "li",
        { class: "row-item" },
        el("div", {}, el("strong", {}, s.name), el("p", { class: "hint" }, describe(s.params) || "everything")),
        el("a", { href: `#/?${q}`, class: "button secondary" }, "Run"),
        el("button", { type: "button", class: "secondary", "aria-label": `Delete saved search ${s.name}` }, "Delete"),
      );
      row.querySelector("button").addEventListener("click", async () => {
        try {
          await api.deleteSavedSearch(s.id);
          row.remove();
        } catch (err) {
          row.append(errorBox(err));
        }
      });
      box.append(row);
    }
  } catch (err) {
    box.replaceChildren(el("li", {}, errorBox(err)));
  } finally {
    box.removeAttribute("aria-busy");
  }
}

export async function refreshUnread() {
  const badge = document.getElementById("unread");
  if (!session.user) {
    badge.hidden = true;
    return;
  }
  try {
    const page = await api.notifications();
    badge.textContent = String(page.unread_count);
    badge.hidden = page.unread_count === 0;
  } catch {
    badge.hidden = true;
  }
}

export async function notificationsView(main) {
  if (needSession(main)) return;
  const markAll = el("button", { type: "button", class: "secondary" }, "Mark all as read");
  main.append(el("div", { class: "title-row" }, el("h1", {}, "Notifications"), markAll));
  const box = el("ul", { class: "plain", "aria-busy": "true" }, el("li", {}, status("Loading…")));
  main.append(box);
  const load = async () => {
    try {
      const page = await api.notifications();
      box.replaceChildren();
      if (!page.items.length) box.append(el("li", { class: "empty" }, "No notifications yet. Saved searches tell you here about new listings and price drops."));
      for (const n of page.items) {
        const what = n.kind === "price_drop" ? `Price drop: ${money(n.previous_price)} → ${money(n.price)}` : `New listing: ${money(n.price)}`;
        box.append(
          el(
            "li",
            { class: `row-item${n.read ? "" : " unread"}` },
            el("div", {}, el("a", { href: `#/listing/${n.listing_id}` }, n.title), el("p", { class: "hint" }, `${what} · ${fmtDate(n.created_at.slice(0, 10))}`)),
            n.read ? null : el("span", { class: "tag" }, "new"),
          ),
        );
      }
    } catch (err) {
      box.replaceChildren(el("li", {}, errorBox(err)));
    } finally {
      box.removeAttribute("aria-busy");
      refreshUnread();
    }
  };
  markAll.addEventListener("click", async () => {
    await api.readNotifications({ all: true });
    load();
  });
  await load();
}
