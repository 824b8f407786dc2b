// Must NOT compile: tests/contract/test_clients.py runs `tsc -p tsconfig.negative.json` and
// expects every marked line below to be an error. If this compiles, the types are too loose.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

const client = createClient<paths>({ baseUrl: "http://127.0.0.1:8000" });

export async function wrong(bookingId: string): Promise<void> {
  // ERROR 1: not a SearchSort
  await client.GET("/v1/search/listings", { params: { query: { sort: "cheapest" } } });
  // ERROR 2: a booking needs listing_id
  await client.POST("/v1/bookings", { body: { check_in: "2026-12-10" } });
  const { data } = await client.POST("/v1/bookings/{booking_id}/payment", {
    params: { path: { booking_id: bookingId } },
  });
  // ERROR 3: money is {amount, currency}, never a bare number
  const refunded: number | undefined = data?.refunded_amount;
  // ERROR 4: no such operation
  await client.GET("/v1/no-such-path");
  const problem: components["schemas"]["Problem"] = {
    type: "about:blank",
    title: "Conflict",
    status: 409,
    detail: "taken",
    // ERROR 5: loc holds strings and integers
    errors: [{ loc: [true], msg: "x" }],
  };
  void refunded;
  void problem;
}
