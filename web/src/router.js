// Hash routes (`#/listing/ID?check_in=...`): static files need no server-side fallback.
const routes = [];

export const route = (pattern, view) => routes.push({ pattern, view });

export function current() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, qs = ""] = raw.split("?");
  return { path, params: new URLSearchParams(qs) };
}

export function href(path, params) {
  const qs = params ? new URLSearchParams(params).toString() : "";
  return `#${path}${qs ? `?${qs}` : ""}`;
}

export function go(path, params) {
  location.hash = href(path, params);
}

// Rewrites the address without a navigation (the search keeps its state in the URL).
export function replace(path, params) {
  history.replaceState(null, "", href(path, params));
}

let cleanup = null;

export async function dispatch(main) {
  const { path, params } = current();
  for (const { pattern, view } of routes) {
    const m = path.match(pattern);
    if (!m) continue;
    if (typeof cleanup === "function") cleanup();
    cleanup = null;
    main.replaceChildren();
    cleanup = await view(main, params, ...m.slice(1));
    return;
  }
  location.hash = "#/";
}
