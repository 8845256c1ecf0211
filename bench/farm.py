"""A loopback feed farm: N feeds x M items, RSS and Atom, gzip, ETag/Last-Modified/304.

    python bench/farm.py --feeds 1000 --items 50 [--hosts 50] [--port 0]

Feeds are spread over --hosts loopback addresses (127.0.0.2, 127.0.0.3, ...)
so a per-host limit sees as many hosts as a real feed list would. Bodies
are built and gzipped once, so serving costs almost nothing. Prints one line,
`farm ready <port> <hosts>`, when listening. `GET /advance?k=5` (on any
address) adds k new items to every feed; a feed shows its latest 50.
A share of the items carries phrases the example rules in config.toml look
for. Listens on 127.0.0.0/8 only.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import random
import re
import sys
import time
from email.utils import formatdate
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).parent))

from corpus import Corpus  # noqa: E402

MATCHING = ["largest drone attack", "Section 333", "coalition of the willing in Ukraine",
            "Zaporizhzhia nuclear plant and the IAEA", "foreign minister Sybiha",
            "record number of drones", "largest air attack"]


def rule_words() -> frozenset[str]:
    """Every word of the example config's rules and synonyms, lower-cased."""
    text = (Path(__file__).parent.parent / "config.toml").read_text().lower()
    rules = text[text.index("[synonyms]"):]
    return frozenset(re.findall(r"[a-z0-9]+", rules))


class Farm:
    def __init__(self, feeds: int, items: int, hosts: int, seed: int = 3,
                 match_share: float = 0.02) -> None:
        # Words of the example rules are left out of the running text, so that an
        # item matches only when a phrase is planted in its title (match_share).
        self.corpus = Corpus.make(seed=seed, tail=5000, exclude=rule_words())
        self.rng = random.Random(seed)
        self.match_share = match_share
        self.hosts = [f"127.0.0.{2 + i}" for i in range(hosts)]
        self.items: list[list[dict[str, str]]] = [[] for _ in range(feeds)]
        self.bodies: dict[str, tuple[bytes, str, str]] = {}  # path -> gzip body, etag, date
        self.counter = 0
        self.advance(items)

    def url(self, i: int, port: int) -> str:
        kind = "atom" if i % 3 == 2 else "rss"
        return f"http://{self.hosts[i % len(self.hosts)]}:{port}/feed/{i}.{kind}"

    def advance(self, k: int) -> None:
        """Add k items to every feed."""
        for _ in range(k):
            self._add_item_everywhere()
        for i in range(len(self.items)):
            self.build(i)

    def _add_item_everywhere(self) -> None:
        for i, items in enumerate(self.items):
            self.counter += 1
            text = " ".join(self.corpus.sentence(self.rng.randint(14, 24)) for _ in range(20))
            title = self.corpus.sentence(self.rng.randint(7, 12)).rstrip(".")
            if self.rng.random() < self.match_share:
                title = f"{title} after {self.rng.choice(MATCHING)}"
            items.insert(0, {"title": title, "text": text,
                             "link": f"https://farm.example/{i}/{self.counter}",
                             "date": formatdate(time.time() - self.rng.randint(0, 3600),
                                                usegmt=True)})

    def build(self, i: int) -> None:
        items = self.items[i][:50]  # a feed shows its latest 50 items
        kind = "atom" if i % 3 == 2 else "rss"
        xml = _atom(i, items) if kind == "atom" else _rss(i, items)
        body = xml.encode()
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        self.bodies[f"/feed/{i}.{kind}"] = (gzip.compress(body, 5), etag,
                                            formatdate(time.time(), usegmt=True))

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {k.lower(): v.strip() for k, _, v in
                           (line.partition(":") for line in lines[1:] if line)}
                writer.write(self.respond(path, headers))
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def respond(self, path: str, headers: dict[str, str]) -> bytes:
        if path.startswith("/advance"):
            self.advance(int(path.partition("k=")[2] or 5))
            return _response(200, b"advanced\n", "text/plain")
        found = self.bodies.get(path)
        if found is None:
            return _response(404, b"not found\n", "text/plain")
        body, etag, date = found
        if headers.get("if-none-match") == etag:
            return _response(304, b"", None, {"ETag": etag})
        ctype = "application/atom+xml" if path.endswith("atom") else "application/rss+xml"
        extra = {"ETag": etag, "Last-Modified": date}
        if "gzip" in headers.get("accept-encoding", ""):
            extra["Content-Encoding"] = "gzip"
        else:
            body = gzip.decompress(body)
        return _response(200, body, ctype + "; charset=utf-8", extra)


def _response(status: int, body: bytes, ctype: str | None,
              headers: dict[str, str] | None = None) -> bytes:
    reason = {200: "OK", 304: "Not Modified", 404: "Not Found"}[status]
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"]
    if ctype:
        lines.append(f"Content-Type: {ctype}")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _rss(i: int, items: list[dict[str, str]]) -> str:
    out = [f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
           f"<title>Farm feed {i}</title><link>https://farm.example/{i}</link>"
           "<description>A feed of the farm</description>"]
    for it in items:
        out.append(f"<item><title>{escape(it['title'])}</title><link>{it['link']}</link>"
                   f"<guid>{it['link']}</guid><pubDate>{it['date']}</pubDate>"
                   f"<description>{escape('<p>' + it['text'] + '</p>')}</description></item>")
    out.append("</channel></rss>")
    return "".join(out)


def _atom(i: int, items: list[dict[str, str]]) -> str:
    out = ['<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
           f"<title>Farm feed {i}</title><id>urn:farm:{i}</id>"
           "<updated>2026-11-24T00:00:00Z</updated>"]
    for it in items:
        out.append(f"<entry><title>{escape(it['title'])}</title>"
                   f'<link rel="alternate" href="{it["link"]}"/><id>{it["link"]}</id>'
                   f"<updated>{_iso(it['date'])}</updated>"
                   f'<summary type="html">{escape("<p>" + it["text"] + "</p>")}</summary>'
                   "</entry>")
    out.append("</feed>")
    return "".join(out)


def _iso(http_date: str) -> str:
    from email.utils import parsedate_to_datetime
    return parsedate_to_datetime(http_date).strftime("%Y-%m-%dT%H:%M:%SZ")


async def serve(farm: Farm, port: int) -> None:
    servers = []
    for host in ["127.0.0.1", *farm.hosts]:
        server = await asyncio.start_server(farm.handle, host, port, backlog=2048)
        port = port or server.sockets[0].getsockname()[1]
        servers.append(server)
    print(f"farm ready {port} {len(farm.hosts)}", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    farm = Farm(args.feeds, args.items, args.hosts, args.seed)
    asyncio.run(serve(farm, args.port))


if __name__ == "__main__":
    main()
