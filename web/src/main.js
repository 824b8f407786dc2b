// Entry: settings and session first, then the hash router draws one view at a time.
import { dispatch, route } from "./router.js";
import { loadConfig, loadFx, onSession, refreshUser, session, signOut } from "./session.js";
import { el } from "./ui.js";
import { notificationsView, refreshUnread, savedView, signInView, wishlistView } from "./views/account.js";
import { bookingsView } from "./views/booking.js";
import { hostView } from "./views/host.js";
import { listingView } from "./views/listing.js";
import { searchView } from "./views/search.js";

route(/^\/$/, searchView);
route(/^\/listing\/([0-9a-f]{24})$/, listingView);
route(/^\/signin$/, signInView);
route(/^\/bookings$/, bookingsView);
route(/^\/wishlist$/, wishlistView);
route(/^\/saved$/, savedView);
route(/^\/notifications$/, notificationsView);
route(/^\/host$/, hostView);

function drawHeader(user) {
  for (const a of document.querySelectorAll("[data-auth]")) a.hidden = !user;
  for (const a of document.querySelectorAll("[data-anon]")) a.hidden = Boolean(user);
  for (const a of document.querySelectorAll("[data-role]")) a.hidden = !user?.roles?.includes(a.dataset.role);
  document.getElementById("whoami").textContent = user ? `Signed in as ${user.display_name}` : "";
  refreshUnread();
}

async function start() {
  const main = document.getElementById("main");
  onSession(drawHeader);
  document.getElementById("signout").addEventListener("click", async () => {
    await signOut();
    // Redraw for the signed-out visitor: by the hashchange, or at once when already home.
    if (location.hash === "#/" || location.hash === "") dispatch(main);
    else location.hash = "#/";
  });
  try {
    await Promise.all([loadConfig(), loadFx(), refreshUser()]);
  } catch (err) {
    main.replaceChildren(el("p", { class: "form-error", role: "alert" }, `The API cannot be reached: ${err.message}`));
    return;
  }
  drawHeader(session.user);
  window.addEventListener("hashchange", () => {
    dispatch(main);
    main.focus({ preventScroll: true });
  });
  await dispatch(main);
}

start();
