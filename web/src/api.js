// The one door to the API. The session is the HttpOnly cookie the login sets: fetch sends it
// (same origin), and nothing here ever reads, keeps or forwards a token.

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    // `[{loc, msg}]` as service/core/errors.py names them: body fields from the body's root,
    // query parameters as ["query", name].
    this.errors = Array.isArray(problem?.errors) ? problem.errors : [];
  }
}

function query(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value === undefined || value === null || value === "") continue;
    for (const v of Array.isArray(value) ? value : [value]) q.append(key, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

export async function request(method, path, { params, body, headers } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers }, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path + query(params), init);
  } catch {
    throw new ApiError(0, { detail: "the server cannot be reached", errors: [] });
  }
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json() : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

const idempotent = () => ({ "Idempotency-Key": crypto.randomUUID() });

export const api = {
  config: () => request("GET", "/app/config.json"),
  me: () => request("GET", "/v1/me"),
  // The answer also carries a bearer token for mobile apps: it is dropped here, unread.
  login: async (email, password) => (await request("POST", "/v1/auth/login", { body: { email, password } })).user,
  logout: () => request("POST", "/v1/auth/logout"),
  fx: () => request("GET", "/v1/fx"),

  search: (params) => request("GET", "/v1/search/listings", { params }),
  map: (params) => request("GET", "/v1/search/map", { params }),
  suggest: (q) => request("GET", "/v1/search/suggest", { params: { q } }),
  similar: (id, params) => request("GET", `/v1/listings/${id}/similar`, { params }),

  listing: (id) => request("GET", `/v1/listings/${id}`),
  availability: (id, from, to) => request("GET", `/v1/listings/${id}/availability`, { params: { from, to } }),
  reviews: (id, cursor) => request("GET", `/v1/listings/${id}/reviews`, { params: { cursor, limit: 5 } }),

  book: (body) => request("POST", "/v1/bookings", { body, headers: idempotent() }),
  bookings: (as, params) => request("GET", "/v1/bookings", { params: { as, limit: 50, ...params } }),
  cancel: (id) => request("POST", `/v1/bookings/${id}/cancel`, { headers: idempotent() }),
  accept: (id) => request("POST", `/v1/bookings/${id}/accept`),
  decline: (id) => request("POST", `/v1/bookings/${id}/decline`),

  save: (id) => request("PUT", `/v1/me/wishlist/${id}`),
  unsave: (id) => request("DELETE", `/v1/me/wishlist/${id}`),
  wishlist: () => request("GET", "/v1/me/wishlist", { params: { limit: 100 } }),
  saveSearch: (name, params) => request("POST", "/v1/me/saved-searches", { body: { name, params } }),
  savedSearches: () => request("GET", "/v1/me/saved-searches", { params: { limit: 50 } }),
  deleteSavedSearch: (id) => request("DELETE", `/v1/me/saved-searches/${id}`),
  notifications: () => request("GET", "/v1/me/notifications", { params: { limit: 50 } }),
  readNotifications: (body) => request("POST", "/v1/me/notifications/read", { body }),

  myListings: () => request("GET", "/v1/listings", { params: { owner: "me", limit: 100 } }),
  createListing: (body) => request("POST", "/v1/listings", { body }),
  publish: (id) => request("POST", `/v1/listings/${id}/publish`),
};
