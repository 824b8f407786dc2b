// DOM helpers shared by the views: elements, labelled fields, money, problem+json errors.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

let uid = 0;

// A labelled control with its error slot; `name` is the API's field path (`price.amount`),
// which is how a problem's `errors[].loc` finds the control it belongs to.
export function field(label, name, control, hint) {
  const id = `f-${name.replace(/[^a-z0-9]+/gi, "-")}-${++uid}`;
  const errId = `${id}-err`;
  control.id = id;
  control.dataset.field = name;
  control.setAttribute("aria-describedby", errId);
  if (!control.name) control.name = name;
  return el(
    "div",
    { class: "field", dataset: { field: name } },
    el("label", { for: id }, label),
    control,
    hint ? el("small", { class: "hint" }, hint) : null,
    el("p", { class: "field-error", id: errId, role: "alert", dataset: { errorFor: name } }),
  );
}

export const input = (attrs) => el("input", attrs);

export function select(options, value, attrs = {}) {
  return el(
    "select",
    attrs,
    // As the `selected` attribute, so that a form's reset() returns to it.
    options.map(([v, text]) => el("option", { value: v, selected: String(v) === String(value) ? "" : false }, text)),
  );
}

// Minor units -> a localised amount; the exponent comes from Intl (JPY 0, EUR 2, ...).
export function digits(currency) {
  return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits;
}

export function money(m) {
  if (!m) return "";
  const value = m.amount / 10 ** digits(m.currency);
  return new Intl.NumberFormat("en", { style: "currency", currency: m.currency }).format(value);
}

export function toMinor(major, currency) {
  return Math.round(Number(major) * 10 ** digits(currency));
}

export const fmtDate = (d) => (d ? new Date(`${d}T00:00:00Z`).toLocaleDateString("en", { timeZone: "UTC", day: "numeric", month: "short", year: "numeric" }) : "");

export const isoDay = (date) => date.toISOString().slice(0, 10);
export const addDays = (day, n) => {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return isoDay(d);
};

export function clearErrors(root) {
  for (const slot of root.querySelectorAll(".field-error")) slot.textContent = "";
  for (const c of root.querySelectorAll("[aria-invalid]")) c.removeAttribute("aria-invalid");
  const banner = root.querySelector(".form-error");
  if (banner) banner.textContent = "";
}

// Each `errors[]` entry goes next to the control it names: the loc without its "query"/"header"
// prefix, matched on the longest known field path (`["price", "amount"]` -> `price.amount`,
// else `price`). What names no control (or a problem without errors) goes to the form banner.
export function showErrors(root, err) {
  clearErrors(root);
  const leftover = [];
  const entries = err.errors?.length ? err.errors : [];
  for (const e of entries) {
    let loc = (e.loc || []).map(String);
    if (["query", "header", "path"].includes(loc[0])) loc = loc.slice(1);
    let slot = null;
    for (let n = loc.length; n > 0 && !slot; n--) {
      const name = loc.slice(0, n).join(".");
      slot = root.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    }
    if (!slot) {
      leftover.push(`${loc.join(".")}: ${e.msg}`);
      continue;
    }
    slot.textContent = slot.textContent ? `${slot.textContent}; ${e.msg}` : e.msg;
    const control = root.querySelector(`#${CSS.escape(slot.id.replace(/-err$/, ""))}`);
    control?.setAttribute("aria-invalid", "true");
  }
  let banner = root.querySelector(".form-error");
  if (!banner) {
    banner = el("p", { class: "form-error", role: "alert" });
    root.prepend(banner);
  }
  if (!entries.length) banner.textContent = err.message;
  else if (leftover.length) banner.textContent = leftover.join("; ");
  const first = root.querySelector("[aria-invalid]");
  first?.focus();
}

export function status(text) {
  return el("p", { class: "loading", role: "status" }, text);
}

export function errorBox(err) {
  return el("p", { class: "form-error", role: "alert" }, err.message);
}

export function stars(summary) {
  if (!summary?.count) return "No reviews yet";
  return `★ ${Number(summary.average).toFixed(2)} (${summary.count})`;
}
