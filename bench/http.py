"""HTTP search benchmark with an external load generator: prints ONE JSON line.

wrk (Debian's `wrk`) drives both sides with the same Lua script (bench/wrk_mix.lua) and the same
query mix, 32 connections, over loopback:
  api   GET /v1/search/listings?... against `marketplace serve --workers 2` on the wire-protocol
        MongoDB server and a real redis-server (what production runs, on one machine);
  raw   POST /<alias>/_msearch straight at Elasticsearch with, for each query, the exact
        multi-search the API sends for it (the page and the exact count of its hits,
        service.search.query.build_body and count_body of the same parsed parameters).
The mix is generated here: N distinct queries (keywords from the indexed titles, with category,
city, price (in EUR) and sort mixed in; no facets, see `_mix`), each written once as a URL and
once as its ES body, in the same order, to the files the Lua script reads. Two phases, each
warmed up, then API and raw runs interleaved (raw, api, raw, api) so drift in machine load hits
both alike:
  cache off  SEARCH_CACHE_TTL_S=0, the distinct mix in order     goal api/raw >= 0.9
  cache on   SEARCH_CACHE_TTL_S=300, a Zipf(1.1)-distributed draw from the same queries,
             repeated; raw gets the identical sequence              goal api/raw >= 2.0
Figures: requests/s summed over the runs of a side, p50/p99 latency (ms, wrk's latency
distribution via the Lua `done` hook; the runs' worst), non-2xx and socket errors (must be 0),
and, cache off, the CPU each answered request cost (ms): the whole machine's on each side
(/proc/stat) and the API workers' share of it (their /proc/<pid>/stat), which is what the
throughput ratio is made of when every core is busy.
Caveat: everything (ES, Mongo, Redis, two API workers, wrk) shares this machine's cores: the
ratios say how much the API adds on the same box, not what a deployment would reach.

Run: python -m bench.http [--small]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from elasticsearch import Elasticsearch

from bench.common import elasticsearch_url
from bench.ratelimit import BIG, redis_url
from documents.fx import Rates
from documents.values import utcnow
from indexers.definition import F, alias_name
from service.core.config import Settings
from service.localnode.children import spawn
from service.localnode.wire_server import WireMongoServer, free_port
from service.search import query as sq
from service.search.schemas import SearchFilters
from service.seeding.places import demo_rates

MARKETPLACE = Path(sys.executable).parent / "marketplace"
LUA = Path(__file__).with_name("wrk_mix.lua")
CONNECTIONS = 32
SORTS = ["relevance", "relevance", "price_asc", "newest", "rating"]


def _env(mongo: str, redis: str, es: str, prefix: str, cache_ttl_s: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONGODB_", "REDIS_"))}
    env.update(
        {
            "MONGODB_URL": mongo,
            "REDIS_URL": redis,
            "ELASTICSEARCH_URL": es,
            "ELASTICSEARCH_INDEX_PREFIX": prefix,
            "SEED_DEMO_LISTINGS": "0",
            "RUN_EMBEDDED_INDEXER": "false",
            "RUN_BOOKING_SWEEPER": "false",
            "RUN_ALERTS": "false",
            "RATE_LIMIT_SEARCH": str(BIG),
            "RATE_LIMIT_READ": str(BIG),
            # wrk's 32 connections are one client: the per-client cap must not shed them.
            "CLIENT_MAX_IN_FLIGHT": str(CONNECTIONS * 2),
            "SEARCH_CACHE_TTL_S": str(cache_ttl_s),
            "LOG_LEVEL": "WARNING",
            "WEBHOOK_SECRET": secrets.token_hex(32),
            "CURSOR_SECRET": secrets.token_hex(32),
        }
    )
    return env


def _run(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(MARKETPLACE), *args], env=env, check=True, capture_output=True)


TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def _machine_busy_s() -> float:
    """CPU seconds this machine spent busy (every core, every process) since boot."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) * TICK_S


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process and its live descendants (the serve process and its workers)."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{p}/stat").read_text()
            after = stat[stat.rindex(")") + 2 :].split()  # the command may hold spaces
            total += (int(after[11]) + int(after[12])) * TICK_S  # utime, stime
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
    return total


@dataclasses.dataclass(frozen=True)
class Served:
    url: str
    pid: int


@contextlib.contextmanager
def _serve(env: dict[str, str]) -> Iterator[Served]:
    port = free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - read on failure
    proc = spawn(
        [str(MARKETPLACE), "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise SystemExit(f"serve did not come up:\n{log.read().decode()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            time.sleep(0.3)
        yield Served(base, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _vocabulary(es: Elasticsearch, index: str) -> tuple[list[str], list[str], list[str]]:
    resp = es.search(
        index=index,
        size=300,
        source=[F.TITLE],
        aggs={
            "c": {"terms": {"field": F.CATEGORY, "size": 20}},
            "t": {"terms": {"field": F.CITY, "size": 20}},
        },
    )
    words = sorted(
        {
            w.lower()
            for h in resp["hits"]["hits"]
            for w in h["_source"][F.TITLE].split()
            if len(w) > 3 and w.isalpha()
        }
    )
    if not words:
        raise SystemExit(f"the index holds no titles to query: {resp['hits']['total']}")
    cats = [b["key"] for b in resp["aggregations"]["c"]["buckets"]]
    cities = [b["key"] for b in resp["aggregations"]["t"]["buckets"]]
    return words, cats, cities


def _mix(
    rng: random.Random, n: int, vocab: tuple[list[str], list[str], list[str]]
) -> list[dict[str, Any]]:
    words, cats, cities = vocab
    out = []
    for _ in range(n):
        query: dict[str, Any] = {"q": " ".join(rng.sample(words, rng.choice([1, 1, 2])))}
        roll = rng.random()
        if roll < 0.3 and cats:
            query["category"] = [rng.choice(cats)]
        elif roll < 0.5 and cities:
            query["city"] = [rng.choice(cities)]
        if rng.random() < 0.3:
            query["price_max"] = rng.choice([8_000, 15_000, 30_000])
        query["sort"] = rng.choice(SORTS)
        if "price_max" in query or query["sort"] == "price_asc":
            # The demo catalogue prices in many currencies: comparisons name one (else 422).
            query["currency"] = "EUR"
        # No facets: the API counts them in a second multi-search built from the first one's
        # answer (docs/performance.md), which a wrk line cannot do. bench.search measures the
        # facet path, with both multi-searches on both sides.
        out.append(query)
    return out


def _write_mix(
    queries: list[dict[str, Any]], index: str, workdir: Path, tag: str
) -> tuple[Path, Path]:
    """The URL list and the matching ES bodies, line by line (the Lua script reads both)."""
    settings = Settings(webhook_secret="x" * 32, cursor_secret="x" * 32)
    rates = Rates.of(1, "EUR", demo_rates())  # as the seed stores it (version 1)
    now = utcnow()
    urls, bodies = [], []
    for query in queries:
        limit = 20
        urls.append(f"/v1/search/listings?{urlencode({**query, 'limit': limit}, doseq=True)}")
        params = SearchFilters.model_validate(query).to_params()  # as the router parses it
        if params.currency is not None:
            params = dataclasses.replace(params, fx=rates)  # the table the seed stored
        fee = settings.guest_service_fee_bps
        body = sq.build_body(
            params, size=limit + 1, now=now, guest_fee_bps=fee, inline_facets=False
        )
        count = sq.count_body(params, now=now, guest_fee_bps=fee)
        # The multi-search the API sends (the page, then the exact count of its hits unless
        # the page counts them itself), as NDJSON with its newlines written as tabs (one line
        # per query; JSON escapes tabs).
        lines = [{}, body, *([{"request_cache": True}, count] if count else [])]
        bodies.append("\t".join(json.dumps(x, separators=(",", ":")) for x in lines) + "\t")
    url_file, body_file = workdir / f"{tag}.urls", workdir / f"{tag}.bodies"
    url_file.write_text("\n".join(urls) + "\n")
    body_file.write_text("\n".join(bodies) + "\n")
    return url_file, body_file


def _wrk(target: str, lines: Path, mode: str, duration_s: int, index: str = "") -> dict[str, Any]:
    env = {**os.environ, "MIX_FILE": str(lines), "MIX_MODE": mode, "MIX_INDEX": index}
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{duration_s}s", "--timeout", "10s",
         "-s", str(LUA), target],
        env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    line = next(x for x in out.stdout.splitlines() if x.startswith("MIX_RESULT "))
    return json.loads(line.removeprefix("MIX_RESULT "))


def _serial(
    api: str, es: str, index: str, files: tuple[Path, Path], n: int = 30
) -> dict[str, float]:
    """One connection, one request at a time: the per-request cost without queueing (ms)."""
    urls = files[0].read_text().splitlines()[:n]
    bodies = files[1].read_text().splitlines()[:n]
    out = {}
    with httpx.Client(timeout=30) as client:
        for side, send in (
            ("api", lambda i: client.get(api + urls[i])),
            ("raw", lambda i: client.post(
                f"{es}/{index}/_msearch", content=bodies[i].replace("\t", "\n"),
                headers={"Content-Type": "application/x-ndjson"},
            )),
        ):  # fmt: skip
            took = []
            for i in range(len(urls)):
                started = time.perf_counter()
                r = send(i)
                took.append((time.perf_counter() - started) * 1000)
                if r.status_code != 200:
                    raise SystemExit(f"{side} answered {r.status_code}: {r.text[:300]}")
            out[side] = round(sorted(took)[len(took) // 2], 2)
    return out


def _measured(served: Served, run: Any) -> dict[str, Any]:
    """One wrk run, with the CPU it cost: the whole machine's and the API process tree's."""
    machine, tree = _machine_busy_s(), _tree_cpu_s(served.pid)
    result: dict[str, Any] = run()
    result["machine_cpu_s"] = _machine_busy_s() - machine
    result["api_cpu_s"] = _tree_cpu_s(served.pid) - tree
    return result


def _interleaved(
    served: Served, es: str, index: str, files: tuple[Path, Path], duration_s: int
) -> dict[str, Any]:
    api, (urls, bodies) = served.url, files
    _wrk(es, bodies, "raw", max(2, duration_s // 2), index)  # warm-up, both sides
    _wrk(api, urls, "api", max(2, duration_s // 2))
    runs: dict[str, list[dict[str, Any]]] = {"raw": [], "api": []}
    for _ in range(2):
        runs["raw"].append(_measured(served, lambda: _wrk(es, bodies, "raw", duration_s, index)))
        runs["api"].append(_measured(served, lambda: _wrk(api, urls, "api", duration_s)))
    out: dict[str, Any] = {}
    for side, results in runs.items():
        requests = sum(r["requests"] for r in results)
        seconds = sum(r["duration_us"] for r in results) / 1e6
        out[side] = {
            "rps": round(requests / seconds, 1),
            "p50_ms": round(max(r["p50_us"] for r in results) / 1000, 2),
            "p99_ms": round(max(r["p99_us"] for r in results) / 1000, 2),
            "bad": sum(r["non2xx"] + r["errors"] for r in results),
            # Where the cores went, per answered request: everything on the machine (ES,
            # Redis, Mongo, wrk, the API, and anything else running), and the API's share.
            "machine_cpu_ms_per_request": round(
                sum(r["machine_cpu_s"] for r in results) * 1000 / max(1, requests), 2
            ),
            "api_cpu_ms_per_request": round(
                sum(r["api_cpu_s"] for r in results) * 1000 / max(1, requests), 2
            ),
        }
    out["ratio"] = round(out["api"]["rps"] / out["raw"]["rps"], 3)
    out["serial_ms_p50"] = _serial(api, es, index, files)
    return out


def _zipf(rng: random.Random, n: int, draws: int, s: float = 1.1) -> list[int]:
    weights = [1 / (k**s) for k in range(1, n + 1)]
    return rng.choices(range(n), weights=weights, k=draws)


def main(small: bool) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk; scripts/dev setup does it)")
    listings, distinct, duration_s = (300, 200, 4) if small else (2000, 1000, 10)
    rng = random.Random(7)
    prefix = f"bench-http-{uuid.uuid4().hex[:8]}-"
    workdir = Path(tempfile.mkdtemp(prefix="bench-http-"))
    mongo = WireMongoServer().start()
    try:
        with redis_url() as redis, elasticsearch_url() as es_url:
            off_env = _env(mongo.url, redis, es_url, prefix, 0)
            _run(off_env, "migrate", "up")
            _run(off_env, "seed", "--listings", str(listings))
            _run(off_env, "index", "rebuild")  # a snapshot load (a change stream starts now)
            index = alias_name(prefix)
            es = Elasticsearch(es_url, request_timeout=60)
            try:
                es.indices.refresh(index=index)
                queries = _mix(rng, distinct, _vocabulary(es, index))
                plain = _write_mix(queries, index, workdir, "plain")
                order = _zipf(rng, distinct, distinct * 20)
                zipf = _write_mix([queries[i] for i in order], index, workdir, "zipf")
                with _serve(off_env) as api:
                    off = _interleaved(api, es_url, index, plain, duration_s)
                on_env = _env(mongo.url, redis, es_url, prefix, 300)
                with _serve(on_env) as api:
                    on = _interleaved(api, es_url, index, zipf, duration_s)
            finally:
                with contextlib.suppress(Exception):
                    for name in es.indices.get(index=f"{prefix}*", expand_wildcards="all"):
                        es.indices.delete(index=name, ignore_unavailable=True)
                es.close()
    finally:
        mongo.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "bench": "http",
        "small": small,
        "tool": "wrk",
        "connections": CONNECTIONS,
        "api_workers": 2,
        "listings": listings,
        "distinct_queries": distinct,
        "run_s": duration_s,
        "cache_off_api_rps": off["api"]["rps"],
        "cache_off_raw_rps": off["raw"]["rps"],
        "cache_off_api_vs_raw_ratio": off["ratio"],
        "cache_off_goal": 0.9,
        "cache_off_api_p50_ms": off["api"]["p50_ms"],
        "cache_off_api_p99_ms": off["api"]["p99_ms"],
        "cache_off_raw_p50_ms": off["raw"]["p50_ms"],
        "cache_off_raw_p99_ms": off["raw"]["p99_ms"],
        "cache_on_zipf_api_rps": on["api"]["rps"],
        "cache_on_zipf_raw_rps": on["raw"]["rps"],
        "cache_on_zipf_api_vs_raw_ratio": on["ratio"],
        "cache_on_goal": 2.0,
        "cache_on_api_p50_ms": on["api"]["p50_ms"],
        "cache_on_api_p99_ms": on["api"]["p99_ms"],
        "cache_on_raw_p50_ms": on["raw"]["p50_ms"],
        "cache_on_raw_p99_ms": on["raw"]["p99_ms"],
        "cache_off_cpu_ms_per_request": {
            "machine_api_side": off["api"]["machine_cpu_ms_per_request"],
            "of_which_api_workers": off["api"]["api_cpu_ms_per_request"],
            "machine_raw_side": off["raw"]["machine_cpu_ms_per_request"],
        },
        "serial_ms_p50_cache_off": off["serial_ms_p50"],
        "serial_ms_p50_cache_on": on["serial_ms_p50"],
        "non_2xx_or_errors": off["api"]["bad"]
        + off["raw"]["bad"]
        + on["api"]["bad"]
        + on["raw"]["bad"],
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a quick run (fewer, shorter)")
    args = parser.parse_args()
    print(json.dumps(main(args.small)))
