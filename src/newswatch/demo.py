"""`newswatch demo`: newswatch at work in under a minute, offline, with no configuration.

Serves three small sample feeds (RSS, Atom and JSON Feed; the articles are
invented for the demo) from 127.0.0.1, polls them with the example rules of
the bundled config.toml, and prints every alert as it would be sent. Then it
publishes a few more articles - a new match, the same story from another
outlet (grouped, not repeated), an excluded one - and polls again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from . import config as config_module
from .daemon import poll_all

# The example rules of the bundled config.toml (a test keeps them the same).
RULES = r"""
[synonyms]
attack = ["assault", "strike", "raid", "barrage"]
largest = ["biggest", "record", "heaviest"]
drone = ["UAV", "Shahed"]

[[rules]]
name = "largest-drone-attack"
query = '(largest NEAR/3 "drone attack") OR "largest air attack" OR "record number of drones"'

[[rules]]
name = "section-333"
query = '/\bsec(tion|\.)? ?333\b/ OR ("security cooperation" "building partner capacity")'
feeds = ["tag:defense", "tag:world"]

[[rules]]
name = "reassurance-force"
query = '("reassurance force" OR "coalition of the willing") (Ukraine OR ceasefire OR postwar)'

[[rules]]
name = "zaporizhzhia-nuclear"
query = '(Zaporizhzhia OR Zaporizhia) ("nuclear plant" OR "power plant" OR IAEA) -exercise'

[[rules]]
name = "ukraine-foreign-minister"
query = 'Sybiha OR ("foreign minister" Ukraine)'
"""

# feed -> (format, tag, [(title, summary)]); invented articles, written for the demo.
FEEDS: dict[str, tuple[str, str, list[tuple[str, str]]]] = {
    "frontline-wire": ("rss", "world", [
        ("Russia launches largest drone attack of the war on Ukraine",
         "The air force said 810 drones and 13 missiles were launched overnight; "
         "most were shot down over Kyiv, Lviv and Odesa."),
        ("Grain exports rise for a third month",
         "Ports on the Black Sea shipped more wheat and maize than a year ago."),
        ("Allies discuss a reassurance force for postwar Ukraine",
         "Defence ministers met in Paris to plan troops for after a ceasefire."),
    ]),
    "defence-daily": ("atom", "defense", [
        ("Pentagon moves Section 333 funds to air defence training",
         "The building partner capacity money will train crews on short-range systems."),
        ("Navy tests a new sonar in the Baltic",
         "The trial ran for two weeks off the coast of Gotland."),
    ]),
    "energy-monitor": ("json", "world", [
        ("IAEA: Zaporizhzhia nuclear plant lost external power again",
         "Inspectors said the plant ran on diesel generators for eleven hours."),
        ("Wind farms set an output record in the North Sea",
         "Output peaked at 18 gigawatts on Tuesday evening."),
    ]),
}
LATER: dict[str, list[tuple[str, str]]] = {
    "frontline-wire": [("Foreign minister Sybiha meets EU envoys in Brussels",
                        "Ukraine's foreign minister asked for faster air-defence deliveries.")],
    "defence-daily": [("Russia launches its largest drone attack yet on Ukraine, officials say",
                       "The same night's attack, as another outlet reported it.")],
    "energy-monitor": [("Zaporizhzhia plant staff hold an emergency exercise",
                        "A planned drill at the nuclear plant; no incident, said the IAEA.")],
}


class _Feeds:
    def __init__(self) -> None:
        self.items: dict[str, list[tuple[str, str, float]]] = {
            name: [(t, s, time.time() - 60 * (i + 5)) for i, (t, s) in enumerate(items)]
            for name, (_, _, items) in FEEDS.items()}
        self.lock = threading.Lock()

    def publish(self, name: str, title: str, summary: str) -> None:
        with self.lock:
            self.items[name].insert(0, (title, summary, time.time()))

    def body(self, name: str, port: int) -> tuple[bytes, str]:
        kind = FEEDS[name][0]
        with self.lock:
            items = list(self.items[name])
        base = f"http://127.0.0.1:{port}/{name}"
        links = [f"{base}/{abs(hash(t)) % 10**8}" for t, _, _ in items]
        if kind == "json":
            return json.dumps({
                "version": "https://jsonfeed.org/version/1.1", "title": name,
                "items": [{"id": link, "url": link, "title": t, "summary": s,
                           "date_published": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                           time.gmtime(when))}
                          for (t, s, when), link in zip(items, links, strict=True)]}).encode(), \
                "application/feed+json"
        if kind == "atom":
            entries = "".join(
                f"<entry><title>{escape(t)}</title><link href=\"{link}\"/><id>{link}</id>"
                f"<updated>{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(when))}</updated>"
                f"<summary>{escape(s)}</summary></entry>"
                for (t, s, when), link in zip(items, links, strict=True))
            return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/'
                    f'2005/Atom"><title>{name}</title>{entries}</feed>').encode(), \
                "application/atom+xml"
        rss_items = "".join(
            f"<item><title>{escape(t)}</title><link>{link}</link><guid>{link}</guid>"
            f"<pubDate>{formatdate(when, usegmt=True)}</pubDate>"
            f"<description>{escape(s)}</description></item>"
            for (t, s, when), link in zip(items, links, strict=True))
        return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                f"<title>{name}</title>{rss_items}</channel></rss>").encode(), \
            "application/rss+xml"


def _server(feeds: _Feeds) -> ThreadingHTTPServer:
    port = 0

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            name = self.path.strip("/")
            if name not in FEEDS:
                self.send_error(404)
                return
            body, ctype = feeds.body(name, port)
            self.send_response(200)
            self.send_header("Content-Type", f"{ctype}; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = int(server.server_address[1])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run(say: Any = print) -> None:
    """The demo; `say` prints the narration."""
    logging.getLogger("newswatch").setLevel(logging.WARNING)
    feeds = _Feeds()
    server = _server(feeds)
    port = int(server.server_address[1])
    with tempfile.TemporaryDirectory(prefix="newswatch-demo-") as tmp:
        path = Path(tmp) / "config.toml"
        lines = ["[newswatch]", 'database = "demo.db"', "parse_workers = 0", ""]
        for name, (_, tag, _) in FEEDS.items():
            lines += ["[[feeds]]", f'name = "{name}"', f'url = "http://127.0.0.1:{port}/{name}"',
                      f'tags = ["{tag}"]', ""]
        lines += ["[[targets]]", 'name = "console"', 'url = "stdout://"', "", RULES]
        path.write_text("\n".join(lines))
        config = config_module.load(path)
        say(f"newswatch demo: {len(config.feeds)} sample feeds on http://127.0.0.1:{port}/ "
            f"(invented articles), {len(config.rules)} example rules, alerts printed here.\n")
        say("--- first poll: every feed is new; the articles that match a rule alert ---\n")
        first = asyncio.run(poll_all(config))
        say(f"--- {sum(r.new for r in first)} articles read, {sum(r.alerts for r in first)} "
            "alerts. Now the feeds publish three more articles: ---")
        for name, items in LATER.items():
            for title, summary in items:
                feeds.publish(name, title, summary)
                say(f"    {name}: {title}")
        say("\n--- second poll: only what is new can alert ---\n")
        second = asyncio.run(poll_all(config))
        say(f"--- {sum(r.new for r in second)} new articles, {sum(r.alerts for r in second)} "
            "alert: the drone attack story from defence-daily joined the story frontline-wire "
            "had already alerted (one story, one alert), and the nuclear plant drill is "
            "excluded by '-exercise'. ---\n")
    server.shutdown()
    server.server_close()
    say("To watch real feeds: edit config.toml (feeds, rules, targets), check it with "
        "`newswatch check`, then run `newswatch run`.")
