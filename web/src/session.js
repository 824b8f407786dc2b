// Who is signed in, as /v1/me says (the cookie itself is HttpOnly, out of the page's reach).
import { api, ApiError } from "./api.js";

export const session = { user: null, config: { tile_url: "", tile_attribution: "" }, fx: null };
const listeners = new Set();

export const onSession = (fn) => listeners.add(fn);
const changed = () => listeners.forEach((fn) => fn(session.user));

export const hasRole = (role) => Boolean(session.user?.roles?.includes(role));

export async function refreshUser() {
  try {
    session.user = await api.me();
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
    session.user = null;
  }
  changed();
  return session.user;
}

export async function signIn(email, password) {
  session.user = await api.login(email, password);
  changed();
  return session.user;
}

export async function signOut() {
  try {
    await api.logout();
  } finally {
    session.user = null;
    changed();
  }
}

// The currency selector exists only where the API converts (GET /v1/fx); a 404 hides it.
export async function loadFx() {
  try {
    session.fx = await api.fx();
  } catch {
    session.fx = null;
  }
  return session.fx;
}

export async function loadConfig() {
  try {
    session.config = await api.config();
  } catch {
    // Outlines-only map: the page works without the deployment's tile server.
  }
}
