"""Polls a probe in its own process and prints the latencies (seconds) as one JSON list.

`python -m tests.hardening.probe_poller URL MAX_S`: GET URL on one keep-alive connection every
10 ms until a line (or EOF) arrives on stdin, or MAX_S passes. Its own process, so that what it
measures is the server's answer time, not the event loop of the client sending the burst.
"""

from __future__ import annotations

import http.client
import json
import select
import sys
import time
from urllib.parse import urlsplit


def main() -> None:
    url, max_s = urlsplit(sys.argv[1]), float(sys.argv[2])
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    latencies: list[float] = []
    failures: list[str] = []
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    deadline = time.monotonic() + max_s
    while time.monotonic() < deadline:
        if select.select([sys.stdin], [], [], 0.01)[0]:
            break
        started = time.perf_counter()
        try:
            conn.request("GET", url.path)
            resp = conn.getresponse()
            resp.read()
            latencies.append(time.perf_counter() - started)
            if resp.status != 200:
                failures.append(f"status {resp.status}")
        except (OSError, http.client.HTTPException) as exc:
            failures.append(type(exc).__name__)
            conn.close()
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.close()
    print(json.dumps({"latencies": latencies, "failures": failures}))


if __name__ == "__main__":
    main()
