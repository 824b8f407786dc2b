// Typed use of the generated client: compiled with `tsc -p tsconfig.json` against
// `schema.d.ts` (openapi-typescript output of /openapi.json) by tests/contract/test_clients.py.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

type Problem = components["schemas"]["Problem"];
type Money = components["schemas"]["Money"];
type SearchSort = components["schemas"]["SearchSort"];

const client = createClient<paths>({ baseUrl: "http://127.0.0.1:8000" });

function describe(problem: Problem): string {
  const fields = problem.errors.map((e) => e.loc.map(String).join("."));
  return `${problem.status} ${problem.title}: ${problem.detail} [${fields.join(", ")}]`;
}

export async function cheapestFirst(q: string): Promise<string[]> {
  const sort: SearchSort = "price_asc";
  const { data, error } = await client.GET("/v1/search/listings", {
    params: { query: { q, sort, limit: 10, category: ["apartment"] } },
  });
  if (error) throw new Error(describe(error));
  return data.hits.map((hit) => `${hit.title}: ${hit.price.amount} ${hit.price.currency}`);
}

export async function book(listingId: string, key: string): Promise<Money | string> {
  const { data, error, response } = await client.POST("/v1/bookings", {
    params: { header: { "Idempotency-Key": key } },
    body: { listing_id: listingId, check_in: "2026-12-10", check_out: "2026-12-13", guests: 2 },
  });
  if (error) {
    return error.status === 409 ? `taken: ${error.detail}` : describe(error);
  }
  const replayed = response.headers.get("Idempotent-Replayed") === "true";
  return replayed ? data.price.total : data.price.host_payout;
}

export async function cancel(bookingId: string): Promise<string | undefined> {
  const { data, error } = await client.POST("/v1/bookings/{booking_id}/cancel", {
    params: { path: { booking_id: bookingId } },
    headers: { Authorization: "Bearer token" },
  });
  if (error) return error.current_status;
  return data.status;
}

export async function refunded(bookingId: string): Promise<number> {
  const { data } = await client.POST("/v1/bookings/{booking_id}/payment", {
    params: { path: { booking_id: bookingId } },
  });
  const money: Money | undefined = data?.refunded_amount;
  return money?.amount ?? 0;
}

export async function pendingPayouts(): Promise<Money[]> {
  const { data } = await client.GET("/v1/payouts", { params: { query: { limit: 20 } } });
  return (data?.totals ?? []).map((t) => t.pending);
}
