"""The fast reader (xmlfeed) against feedparser: on feedparser's own test documents, and
for speed on the farm's feeds.

    python bench/readers.py [--corpus ../shared/feed-corpus] [--no-speed]

Each document is read by parse_feed (the fast reader first) and by
read_with_feedparser with six header sets, each as a poll hands it over
(with_base: the base URL in content-location):

    none                  no response headers: feedparser flags the missing
                          Content-Type, so the fast reader steps aside on all
    application/xml       Content-Type: application/xml
    text/xml              Content-Type: text/xml (US-ASCII unless declared otherwise)
    own type; utf-8       application/rss+xml, atom+xml or rdf+xml by the root; charset=utf-8
    document's own        as feedparser's test harness serves the document: its
                          Header: lines, Content-Type text/xml unless one says
    ... + Content-Language  the same with Content-Language: en

Prints per header set: documents, those the fast reader takes, those where
the two readings differ (must be 0), exceptions other than ParseError (must
be 0), and article links left relative (must be 0). Then parse_feed's
speed-up over read_with_feedparser on the farm's feeds of 50 items.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "src"))

from newswatch import xmlfeed  # noqa: E402
from newswatch.errors import ParseError  # noqa: E402
from newswatch.parse import (  # noqa: E402
    ParsedFeed,
    parse_feed,
    read_with_feedparser,
    with_base,
)

CORPUS = Path(__file__).parent.parent.parent / "shared" / "feed-corpus"
BASE = "http://127.0.0.1/feeds/doc.xml"
# feedparser's test harness reads a document's own response headers so.
_HEADER = re.compile(r"^Header:\s+([^:]+):(.*)$", re.MULTILINE)
_ROOT = re.compile(rb"<(?:[\w.-]+:)?(rss|feed|RDF)[\s>]")
_TYPES = {b"rss": "application/rss+xml", b"feed": "application/atom+xml",
          b"RDF": "application/rdf+xml"}
HEADER_SETS = ["none", "application/xml", "text/xml", "own type; utf-8", "document's own",
               "document's own + Content-Language"]


def headers_for(name: str, body: bytes) -> dict[str, str]:
    """One header set for a document, as a poll hands it to the parser: with the base
    (the document's Content-Location against the URL it came from, else that URL)."""
    return with_base(_response_headers(name, body), BASE)


def _response_headers(name: str, body: bytes) -> dict[str, str]:
    if name == "none":
        return {}
    if name in ("application/xml", "text/xml"):
        return {"content-type": name}
    if name == "own type; utf-8":
        root = _ROOT.search(body)
        kind = _TYPES[root[1]] if root else "application/xml"
        return {"content-type": f"{kind}; charset=utf-8"}
    # As feedparser's test harness serves it: its Header: lines, text/xml unless one says.
    own = {"Content-type": "text/xml"}
    own.update((k.strip(), v.strip()) for k, v in _HEADER.findall(body.decode("utf-8", "replace")))
    if name.endswith("Content-Language"):
        own["Content-Language"] = "en"
    return own


@dataclass
class Tally:
    documents: int = 0
    taken: int = 0
    differing: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    relative: list[str] = field(default_factory=list)


def _read(read: Callable[..., ParsedFeed], path: Path, body: bytes,
          headers: dict[str, str], tally: Tally) -> ParsedFeed | str:
    """The reading, or the ParseError's message; any other exception is tallied."""
    try:
        return read(path.name, body, headers)
    except ParseError as e:
        return f"ParseError: {e}"
    except Exception as e:  # noqa: BLE001 - the finding
        tally.exceptions.append(f"{path}: {type(e).__name__}: {e}")
        return f"{type(e).__name__}"


def check(paths: Iterable[Path], sets: list[str] = HEADER_SETS) -> dict[str, Tally]:
    """Every document with every header set through both readers."""
    tallies = {name: Tally() for name in sets}
    for path in paths:
        body = path.read_bytes()
        for name in sets:
            _check_one(path, body, headers_for(name, body), tallies[name])
    return tallies


def _check_one(path: Path, body: bytes, headers: dict[str, str], tally: Tally) -> None:
    """Both readings compared whether or not the fast reader takes the document: parse.py
    may hand it a body or headers made usable (an encoding name dropped)."""
    tally.documents += 1
    tally.taken += xmlfeed.read(body, headers) is not None
    fast = _read(parse_feed, path, body, headers, tally)
    slow = _read(read_with_feedparser, path, body, headers, tally)
    if fast != slow and not body.lstrip().startswith(b"{"):  # JSON Feed: a reader of its own
        tally.differing.append(f"{path} {headers}")
    if isinstance(fast, ParsedFeed):
        tally.relative += [f"{path}: {a.url}" for a in fast.articles
                           if a.url and not a.url.startswith(("http://", "https://"))]


def print_table(tallies: dict[str, Tally]) -> None:
    print(f"{'header set':36} {'docs':>6} {'fast':>6} {'differ':>7} {'errors':>7} "
          f"{'relative links':>15}")
    for name, t in tallies.items():
        print(f"{name:36} {t.documents:6} {t.taken:6} {len(t.differing):7} "
              f"{len(t.exceptions):7} {len(t.relative):15}")
    for t in tallies.values():
        for line in (t.differing + t.exceptions)[:5]:
            print("  ", line)


def speed(repeat: int = 40) -> None:
    """parse_feed against read_with_feedparser on the farm's feeds of 50 items, as a
    poll hands them over; the best of `repeat` runs each, taken in turn, so that
    other work on the machine slows both alike."""
    from farm import Farm, _atom, _rss

    farm = Farm(3, 50, 1)
    for i, kind in ((0, "rss"), (2, "atom")):
        body = (_atom if kind == "atom" else _rss)(i, farm.items[i]).encode()
        headers = with_base({"Content-Type": f"application/{kind}+xml; charset=utf-8"},
                            f"http://127.0.0.1/feed/{i}.{kind}")
        assert xmlfeed.read(body, headers) is not None, "the fast reader stepped aside"
        best = {parse_feed: float("inf"), read_with_feedparser: float("inf")}
        for _ in range(repeat):
            for read in best:
                started = time.perf_counter()
                read("farm", body, headers)
                best[read] = min(best[read], time.perf_counter() - started)
        fast, slow = best.values()
        print(f"{kind:5} {len(body) // 1024:4} KB  parse_feed {fast * 1e3:5.1f} ms  "
              f"read_with_feedparser {slow * 1e3:5.1f} ms  speed-up {slow / fast:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args()
    if args.corpus.is_dir():
        started = time.monotonic()
        print_table(check(sorted(p for p in args.corpus.rglob("*") if p.is_file())))
        print(f"({time.monotonic() - started:.0f} s)")
    else:
        print(f"no corpus at {args.corpus}")
    if not args.no_speed:
        speed()


if __name__ == "__main__":
    main()
