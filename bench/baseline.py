"""The bare baseline poller: httpx (async, 50 connections) + feedparser in 2 processes.

    python bench/baseline.py URLS.txt STATE.json

No store, no rules, no alerts: fetch every URL (conditional GET with the
ETags kept in STATE.json between runs), parse each 200 with feedparser's
defaults in two worker processes, count the entries. Prints one JSON line.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import feedparser
import httpx


def parse(body: bytes, headers: dict[str, str]) -> int:
    return len(feedparser.parse(io.BytesIO(body), response_headers=headers).entries)


async def poll(urls: list[str], etags: dict[str, str]) -> dict[str, int]:
    counts = {"feeds": len(urls), "ok": 0, "not_modified": 0, "entries": 0, "errors": 0}
    limits = httpx.Limits(max_connections=50, max_keepalive_connections=50)
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(2) as pool:
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            async def one(url: str) -> None:
                headers = {"If-None-Match": etags[url]} if url in etags else {}
                try:
                    r = await client.get(url, headers=headers)
                except httpx.HTTPError:
                    counts["errors"] += 1
                    return
                if r.status_code == 304:
                    counts["not_modified"] += 1
                    return
                if "ETag" in r.headers:
                    etags[url] = r.headers["ETag"]
                counts["ok"] += 1
                counts["entries"] += await loop.run_in_executor(
                    pool, parse, r.content, dict(r.headers))
            await asyncio.gather(*(one(u) for u in urls))
    return counts


def main() -> None:
    urls = Path(sys.argv[1]).read_text().split()
    state = Path(sys.argv[2])
    etags = json.loads(state.read_text()) if state.exists() else {}
    started = time.monotonic()
    counts = asyncio.run(poll(urls, etags))
    counts["seconds"] = round(time.monotonic() - started, 3)
    state.write_text(json.dumps(etags))
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
