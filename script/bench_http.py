"""How long one large reply holds the event loop, through the shared HTTP client.

Serves a JSON list of N bytes on loopback, fetches and decodes it with `HttpClient`, and
measures the longest gap of a 1 ms ticker on the same loop (the stall Home Assistant would
feel). Prints one JSON line:

    {"case": "large_reply", "megabytes", "longest_stall_ms", "seconds", "peak_rss_mb"}

    script/bench_http.py 30
"""

import asyncio
import json
from pathlib import Path
import resource
import sys
import time

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiohttp import web

from custom_components.crosswatch.clients.http import HttpClient, RetryPolicy


async def main(megabytes: float) -> dict[str, object]:
    row = b'{"id": 123456, "title": "A film", "year": 1999, "ids": {"imdb": "tt0133093"}},'
    count = int(megabytes * 1024 * 1024 / len(row))
    body = b"[" + row * count + b'{"id": 0}]'

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/rows", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # noqa: SLF001
    longest = 0.0
    running = True

    async def ticker() -> None:
        nonlocal longest
        last = time.perf_counter()
        while running:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            longest = max(longest, now - last)
            last = now

    async with aiohttp.ClientSession() as session:
        http = HttpClient(session, f"http://127.0.0.1:{port}", service="Bench",
                          retry=RetryPolicy(timeout=120))  # fmt: skip
        tick = asyncio.create_task(ticker())
        await asyncio.sleep(0.05)
        longest = 0.0
        started = time.perf_counter()
        rows = (await http.request("GET", "/rows")).json()
        seconds = time.perf_counter() - started
        running = False
        await tick
    await runner.cleanup()
    if not isinstance(rows, list) or len(rows) != count + 1:
        raise SystemExit("the reply did not decode to every row")
    return {
        "case": "large_reply",
        "megabytes": round(len(body) / 1024 / 1024, 1),
        "longest_stall_ms": round(longest * 1000, 1),
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 30))))
