"""The status page as an operator reads it, over real HTTP on 127.0.0.1.

A real pipeline polls real local feeds and delivers to real local webhooks, its
clock moved on by 30 hours between two rounds; the page is then served by a
StatusServer on the same store, with the deliver loop's breakers. What it must
show: one row per article with each target's state (sent when; pending, why,
until when; failed, why), feeds in trouble first, paused ones marked, rule
counts; in headless Chromium too, with an accessibility check.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import threading
import urllib.request
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import lxml.html
import pytest

from newswatch import config as config_module
from newswatch.alert_states import Outbox
from newswatch.daemon import close_pipeline, open_pipeline
from newswatch.delivery import Breaker
from newswatch.models import Config, Rule, Target
from newswatch.outbox import policy
from newswatch.pipeline import Pipeline
from newswatch.store import Outgoing
from newswatch.store_status import AlertedArticle, TargetAlert
from newswatch.web import StatusServer
from servers import FeedServer, Item, Webhook, rss

KYIV = ZoneInfo("Europe/Kyiv")
T0 = datetime.now(UTC).replace(microsecond=0)
T1 = T0 + timedelta(hours=30)  # past give_up (1 day) for the first round's retries
SHOWN = T1 + timedelta(minutes=1)  # the page's now
QUIET_END = (T1 + timedelta(hours=2)).replace(second=0)


def local(when: datetime, zone: ZoneInfo = KYIV) -> str:
    return f"{when.astimezone(zone):%Y-%m-%d %H:%M}"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config_text(feeds: FeedServer, hook: Webhook, refuser: Webhook, down: int,
                database: str) -> str:
    start = (T1 - timedelta(hours=1)).astimezone(KYIV)
    quiet = f"{start:%H:%M}-{QUIET_END.astimezone(KYIV):%H:%M}"
    late = feeds.url("/late.xml").replace("http://", "http://reader:pa55word@")
    return f"""
[newswatch]
database = "{database}"
backfill = "7d"
parse_workers = 0
retry_delay = "10m"
retry_max = "1h"
give_up = "1d"

[[feeds]]
name = "wire"
url = "{feeds.url('/wire.xml')}"
[[feeds]]
name = "broken"
url = "{feeds.url('/broken.xml')}"
[[feeds]]
name = "late"
url = "{late}?token=t0psecret&page=2"
interval = "10m"
[[feeds]]
name = "archive"
url = "{feeds.url('/archive.xml')}"
enabled = false

[[targets]]
name = "night"
url = "{hook.apprise_url}"
quiet_hours = "{quiet}"
timezone = "Europe/Kyiv"
[[targets]]
name = "hook"
url = "{hook.apprise_url}"
[[targets]]
name = "refuser"
url = "{refuser.apprise_url}"
[[targets]]
name = "down"
url = "json://127.0.0.1:{down}/hook?token=d0wnsecret"

[[rules]]
name = "drones"
query = '"drone attack"'
[[rules]]
name = "sirens"
query = "sirens"
priority = "high"
notify = ["night", "hook"]
[[rules]]
name = "elections"
query = "election"
enabled = false
"""


@dataclass
class Scene:
    config: Config
    pipeline: Pipeline
    server: StatusServer
    loop: asyncio.AbstractEventLoop

    @property
    def url(self) -> str:
        assert self.server.socket is not None
        return f"http://127.0.0.1:{self.server.socket.getsockname()[1]}"

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        with urllib.request.urlopen(self.url + path, timeout=10) as r:
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()

    def page(self, path: str = "/") -> Any:
        return lxml.html.fromstring(self.get(path)[2])


def run(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run_coroutine_threadsafe(coro, loop).result(60)


async def two_rounds(pipeline: Pipeline, feeds: FeedServer) -> None:
    """T0: one article, every feed polled. T1: the first round's retries give up, then
    two more articles; `late` is not polled again, so it is overdue by the page's now."""
    pipeline.clock = lambda: T0
    for feed in pipeline.config.feeds:
        await pipeline.refresh(feed)
    await pipeline.deliver()
    pipeline.clock = lambda: T1
    await pipeline.deliver()
    feeds.publish("/wire.xml", rss([
        Item("Largest drone attack on Kharkiv overnight", "https://n.example/a"),
        Item("Ports of Odesa hit in a drone attack, grain terminal burns",
             "https://n.example/b"),
        Item("Air raid sirens sound across Kyiv region", "https://n.example/c")]))
    for name in ("wire", "broken"):
        feed = pipeline.config.feed(name)
        assert feed is not None
        await pipeline.refresh(feed)
    await pipeline.deliver()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def scene(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    """The two rounds on each backend: the page's queries are the same SQL for both."""
    tmp = tmp_path_factory.mktemp("status")
    database = "nw.db"
    if request.param == "postgresql":
        database = request.getfixturevalue("postgres_cluster").new_database()
    feeds, hook, refuser = FeedServer(), Webhook(), Webhook()
    refuser.refuse = lambda payload: True
    feeds.publish("/wire.xml", rss([Item("Largest drone attack on Kharkiv overnight",
                                         "https://n.example/a")]))
    feeds.publish("/broken.xml", "no", status=500)
    feeds.publish("/late.xml?token=t0psecret&page=2",
                  rss([Item("Weather for the weekend", "https://n.example/w")]))
    path = tmp / "config.toml"
    path.write_text(config_text(feeds, hook, refuser, closed_port(), database))
    config = config_module.load(path)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> Pipeline:
        return open_pipeline(config)

    pipeline = run(loop, start())
    run(loop, two_rounds(pipeline, feeds))
    server = StatusServer(pipeline.store, lambda: config, dict, lambda: None,
                          breakers=lambda: pipeline.delivery.breakers, clock=lambda: SHOWN)
    run(loop, server.start("127.0.0.1:0"))
    try:
        yield Scene(config, pipeline, server, loop)
    finally:
        run(loop, server.close())
        run(loop, close_pipeline(pipeline))
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        for peer in (feeds, hook, refuser):
            peer.close()


def text(element: Any) -> str:
    return " ".join(element.text_content().split())


def rows(page: Any, section: str) -> list[Any]:
    return list(page.xpath(f'//h2[@id="{section}"]/following-sibling::table[1]/tbody/tr'))


def states(row: Any) -> dict[str, str]:
    """A row's targets, each with what the page says of it."""
    return {text(li.find("strong")): text(li) for li in row.xpath(".//ul/li")}


def test_one_row_per_article_with_each_targets_state(scene: Scene) -> None:
    page = scene.page()
    articles = rows(page, "alerts")
    titles = [text(r.find("th")) for r in articles]
    assert titles == ["Air raid sirens sound across Kyiv region",
                      "Ports of Odesa hit in a drone attack, grain terminal burns",
                      "Largest drone attack on Kharkiv overnight"]
    sirens, odesa, kharkiv = (states(r) for r in articles)

    # T0: sent to those that took it; T1: the other two given up on, saying why.
    assert kharkiv["hook"] == f"hook sent {local(T0)}"
    assert kharkiv["night"] == f"night sent {local(T0)}"
    assert kharkiv["refuser"].startswith("refuser failed after 2 attempts: ")
    assert "error=400" in kharkiv["refuser"]
    assert kharkiv["down"].startswith("down failed after 2 attempts: ")

    # T1: each reason the outbox has, and until when, in the page's timezone.
    assert odesa["hook"] == f"hook sent {local(T1)}"
    assert odesa["refuser"].startswith(
        f"refuser pending retry 2 until {local(T1 + timedelta(minutes=10))}; last error: ")
    assert odesa["night"] == f"night pending quiet hours until {local(QUIET_END)}"
    assert odesa["down"].startswith("down pending sending: due now; target looks down until "
                                    f"{local(T1 + timedelta(minutes=20))} (")
    # A high-priority rule goes through quiet hours.
    assert sirens == {"night": f"night sent {local(T1)}", "hook": f"hook sent {local(T1)}"}
    assert [text(r.xpath("td")[2]) for r in articles] == ["sirens", "drones", "drones"]


def test_target_secrets_and_feed_credentials_never_show(scene: Scene) -> None:
    body = scene.get("/")[2].decode()
    for secret in ("d0wnsecret", "pa55word", "t0psecret", "reader:"):
        assert secret not in body
    [late] = [r for r in rows(scene.page(), "feeds") if text(r.find("th")) == "late"]
    assert re.search(r"http://\*\*\*@127\.0\.0\.1:\d+/late\.xml\?token=\*\*\*&page=2",
                     text(late))


def test_feeds_in_trouble_come_first_and_paused_ones_are_marked(scene: Scene) -> None:
    feeds = [(text(r.find("th")), text(r.xpath("td")[0])) for r in rows(scene.page(), "feeds")]
    assert [name for name, _ in feeds] == ["broken", "late", "wire", "archive"]
    state = dict(feeds)
    assert state["broken"] == "failing 2 failed polls in a row"
    due = scene.pipeline.store.feed_state("late").next_poll  # T0 + 10 minutes, less jitter
    assert due is not None and T0 < due <= T0 + timedelta(minutes=10)
    assert state["late"] == f"overdue due since {local(due)}"
    assert state["wire"] == "ok"
    assert state["archive"] == "paused enabled = false in the configuration: not polled"
    problem = [text(r.find("th")) for r in rows(scene.page(), "feeds")
               if r.get("class") == "problem"]
    assert problem == ["broken", "late"]


def test_rules_with_their_counts_priority_and_pause(scene: Scene) -> None:
    cells = {text(r.find("th")): [text(td) for td in r.xpath("td")]
             for r in rows(scene.page(), "rules")}
    # drones: Kharkiv (30 hours ago) and Odesa; counted once per article, not per target.
    assert cells["drones"][:4] == ["active", "normal", "1", "2"]
    assert cells["sirens"][:4] == ["active", "high (through quiet hours and digests)", "1", "1"]
    assert cells["elections"][:4] == ["paused", "normal", "0", "0"]
    assert cells["sirens"][4] == "night, hook"


def test_failed_alerts_are_listed_apart(scene: Scene) -> None:
    failed = [(text(r.xpath("td")[1]), text(r.find("th"))) for r in rows(scene.page(), "failed")]
    assert sorted(failed) == [("down", "Largest drone attack on Kharkiv overnight"),
                              ("refuser", "Largest drone attack on Kharkiv overnight")]


@pytest.mark.parametrize(("query", "zone", "note"), [
    ("", "Europe/Kyiv", False),  # the first target's
    ("?tz=Asia/Tokyo", "Asia/Tokyo", False),
    ("?tz=America%2FNew_York", "America/New_York", False),
    ("?tz=Mars/Olympus", "Europe/Kyiv", True),
    ("?tz=../../etc/passwd", "Europe/Kyiv", True),
])
def test_times_are_in_a_timezone_the_page_names(scene: Scene, query: str, zone: str,
                                                note: bool) -> None:
    page = scene.page("/" + query)
    intro = text(page.xpath("//main/p")[0])
    assert intro.startswith(f"Times are in {zone}; it is now {local(SHOWN, ZoneInfo(zone))}.")
    assert ("There is no timezone named" in intro) == note
    [kharkiv] = [r for r in rows(page, "alerts") if "Kharkiv" in text(r)]
    assert states(kharkiv)["hook"] == f"hook sent {local(T0, ZoneInfo(zone))}"
    assert page.xpath('//input[@name="tz"]/@value') == [zone]


# -- in a browser ------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
WIDTH = 1280
AA = 4.5  # WCAG AA contrast for normal text


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("needs Chromium and its driver on PATH (Debian: apt-get install "
                    "chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={WIDTH},900", "--force-device-scale-factor=1",
                "--hide-scrollbars", "--lang=en-US"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def whole_page(browser: Any) -> list[int]:
    """Make the window as tall as the page (its frame takes some of the height it is
    given); return the viewport's size."""
    for _ in range(3):
        inner, height = browser.execute_script(
            "return [[window.innerWidth, window.innerHeight], "
            "document.documentElement.scrollHeight]")
        if inner[1] >= height:
            break
        frame = browser.get_window_size()["height"] - inner[1]
        browser.set_window_size(WIDTH, height + frame)
    return list(inner)


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


# The browser decodes the screenshot: how many colours it has (up to 256) and how
# much of it is not white.
_PIXELS = """
const done = arguments[arguments.length - 1];
const img = new Image();
img.onload = () => {
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  const colours = new Set(); let ink = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (colours.size < 256) colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    if (d[i] < 250 || d[i + 1] < 250 || d[i + 2] < 250) ink++;
  }
  done([c.width, c.height, colours.size, ink / (d.length / 4)]);
};
img.onerror = () => done(null);
img.src = 'data:image/png;base64,' + arguments[0];
"""


def test_the_page_in_headless_chromium(scene: Scene, browser: Any,
                                       tmp_path_factory: pytest.TempPathFactory) -> None:
    browser.get(scene.url + "/")
    assert browser.title == "newswatch status"
    shown = browser.find_element("tag name", "body").text
    for words in ("refuser failed after 2 attempts", "night pending quiet hours until",
                  "target looks down until", "elections\npaused", "archive\npaused",
                  "broken\nfailing", "late\noverdue", "Times are in Europe/Kyiv"):
        assert words.replace("\n", " ") in shown.replace("\n", " ")
    inner = whole_page(browser)
    png = browser.get_screenshot_as_png()
    path = tmp_path_factory.getbasetemp() / f"status-page-{scene.pipeline.store.backend.kind}.png"
    path.write_bytes(png)
    print(f"status page screenshot: {path}")
    assert png_size(png) == tuple(inner) and inner[0] == WIDTH and inner[1] >= 900
    import base64

    browser.get("about:blank")
    width, tall, colours, ink = browser.execute_async_script(
        _PIXELS, base64.b64encode(png).decode())
    assert (width, tall) == tuple(inner)
    # Text in several colours on white: not blank, not one flat colour.
    assert colours >= 20 and 0.02 < ink < 0.6, (colours, ink)


@pytest.mark.parametrize(("path", "allowed"), [
    # It refreshes itself, as asked, and axe counts any timed refresh against WCAG
    # 2.2.1 (it cannot see the link that turns it off, the first link after the skip
    # link); that one finding is expected, nothing else.
    ("/", {"meta-refresh"}),
    ("/?refresh=off", set()),
])
def test_the_page_passes_axe_without_serious_violations(scene: Scene, browser: Any,
                                                       path: str, allowed: set[str]) -> None:
    from axe_selenium_python import Axe

    browser.get(scene.url + path)
    axe = Axe(browser)
    axe.inject()
    results = axe.run()
    print(axe.report(results["violations"]))
    serious = {v["id"] for v in results["violations"] if v["impact"] in ("serious", "critical")}
    assert serious == allowed, axe.report(results["violations"])
    # The checks that matter here ran and passed, not skipped for want of content.
    passed = {r["id"] for r in results["passes"]}
    assert {"color-contrast", "label", "html-has-lang", "document-title",
            "th-has-data-cells", "bypass", "heading-order"} <= passed, sorted(passed)


def test_the_refresh_can_be_turned_off_without_javascript(scene: Scene) -> None:
    page = scene.page("/?tz=Asia/Tokyo")
    assert page.xpath('//meta[@http-equiv="refresh"]/@content') == ["60"]
    [stop] = page.xpath('//a[text()="stop refreshing"]/@href')
    assert stop == "/?tz=Asia/Tokyo&refresh=off"
    assert page.xpath("//a/@href")[:2] == ["#main", stop]  # met before anything else
    still = scene.page(stop)
    assert still.xpath('//meta[@http-equiv="refresh"]') == []
    assert still.xpath('//a[text()="refresh it every minute"]/@href') == ["/?tz=Asia/Tokyo"]
    # The timezone form keeps it off.
    assert still.xpath('//form//input[@name="refresh"]/@value') == ["off"]
    assert "Times are in Asia/Tokyo" in text(still)


# Each visible piece of text: its colour and the background it is drawn on (the first
# ancestor's that is not transparent).
_TEXT_COLOURS = """
const out = [];
for (const el of document.body.querySelectorAll('*')) {
  const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
  if (!own || !el.getClientRects().length) continue;
  let bg = 'rgba(0, 0, 0, 0)', up = el;
  while (up && /rgba\\(.*, 0\\)$|transparent/.test(getComputedStyle(up).backgroundColor))
    up = up.parentElement;
  if (up) bg = getComputedStyle(up).backgroundColor; else bg = 'rgb(255, 255, 255)';
  out.push([el.tagName, el.textContent.trim().slice(0, 40), getComputedStyle(el).color, bg]);
}
return out;
"""


def luminance(css: str) -> float:
    r, g, b = (int(v) / 255 for v in re.findall(r"[\d.]+", css)[:3])
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(fg: str, bg: str) -> float:
    light, dark = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_page_is_accessible_by_its_markup(scene: Scene, browser: Any) -> None:
    """What axe checks, measured here too: contrast of every text, headings in order,
    labelled controls, captioned tables with scoped headers, a skip link that works."""
    browser.get(scene.url + "/")
    pairs = browser.execute_script(_TEXT_COLOURS)
    assert len(pairs) > 50
    low = [(tag, words, fg, bg, round(contrast(fg, bg), 2)) for tag, words, fg, bg in pairs
           if contrast(fg, bg) < AA]
    assert low == []
    levels = [int(h.tag_name[1]) for h in browser.find_elements(
        "css selector", "h1, h2, h3, h4, h5, h6")]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)), levels
    unlabelled = browser.execute_script(
        "return [...document.querySelectorAll('input, select, textarea')]"
        ".filter(c => c.type !== 'hidden' && !c.labels.length && !c.ariaLabel).length")
    assert unlabelled == 0
    tables = browser.find_elements("tag name", "table")
    assert len(tables) == 4
    for table in tables:
        assert table.find_element("tag name", "caption").text.strip()
        assert all(th.get_attribute("scope") in ("col", "row")
                   for th in table.find_elements("tag name", "th"))
    html_tag = browser.find_element("tag name", "html")
    assert html_tag.get_attribute("lang") == "en"
    assert browser.execute_script("return document.scripts.length") == 0  # no JavaScript
    refresh = browser.find_element("css selector", 'meta[http-equiv="refresh"]')
    assert refresh.get_attribute("content") == "60"
    from selenium.webdriver.common.keys import Keys

    browser.find_element("tag name", "body").send_keys(Keys.TAB)
    skip = browser.switch_to.active_element
    assert skip.get_attribute("href").endswith("#main") and skip.text == "Skip to the alerts"
    assert skip.location["x"] >= 0  # shown once it has the focus
    assert browser.find_element("id", "main").tag_name == "main"


# -- served by the daemon ---------------------------------------------------------------


@pytest.mark.slow
def test_the_daemon_shows_a_target_its_deliver_loop_left_alone(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    """`newswatch run` hands its page the deliver loop's breakers: a target that could
    not be reached says until when it is left alone."""
    from test_daemon import Daemon, wait_until

    port, down = closed_port(), closed_port()
    url = feed_server.publish("/wire.xml", rss([Item("Largest drone attack on Kharkiv",
                                                     "https://n.example/1")]))
    path = tmp_path / "config.toml"
    path.write_text(f'[newswatch]\ndatabase = "nw.db"\ninterval = "1s"\n\n'
                    f'[http]\nlisten = "127.0.0.1:{port}"\n\n'
                    f'[[feeds]]\nname = "wire"\nurl = "{url}"\n\n'
                    f'[[targets]]\nname = "hook"\nurl = "{webhook.apprise_url}"\n\n'
                    f'[[targets]]\nname = "down"\nurl = "json://127.0.0.1:{down}/x"\n\n'
                    "[[rules]]\nname = \"drones\"\nquery = '\"drone attack\"'\n")
    daemon = Daemon(path)
    home = f"http://127.0.0.1:{port}"

    def page() -> str:
        try:
            with urllib.request.urlopen(home + "/?tz=UTC", timeout=5) as r:
                return str(r.read().decode())
        except OSError:
            return ""

    try:
        assert wait_until(lambda: "target looks down until" in page()), daemon.output()
        [row] = rows(lxml.html.fromstring(page()), "alerts")
        assert states(row)["hook"].startswith("hook sent ")
        assert re.fullmatch(r"down pending retry 2 until [\d-]+ [\d:]+; target looks down "
                            r"until [\d-]+ [\d:]+ \(target 'down' could not be reached\); "
                            r"last error: target 'down' could not be reached",
                            states(row)["down"]), states(row)["down"]
        with urllib.request.urlopen(home + "/alerts.atom", timeout=5) as r:
            assert b"<title type=\"text\">Largest drone attack on Kharkiv</title>" in r.read()
        head = urllib.request.Request(home + "/alerts.json", method="HEAD")
        with urllib.request.urlopen(head, timeout=5) as r:
            assert r.status == 200 and r.read() == b"" and int(r.headers["Content-Length"]) > 0
    finally:
        assert daemon.stop() == 0


# -- why a pending alert waits, on plain data ---------------------------------------------

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
RULES = (Rule("drones", "drone"), Rule("sirens", "sirens", priority="high"))
TARGETS = {
    "plain": Target("plain", "json://x"),
    "quiet": Target("quiet", "json://x", quiet_hours=("11:00", "14:00"), timezone="UTC"),
    "digest": Target("digest", "json://x", digest=3600.0),
    "capped": Target("capped", "json://x", max_per_hour=2),
}


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def pending(target: str, rules: tuple[str, ...] = ("drones",), attempts: int = 0,
            retry: datetime | None = None, created: datetime = NOON,
            status: str = "pending", sent: datetime | None = None) -> TargetAlert:
    return TargetAlert(1, target, status, rules, "", stamp(created),
                       stamp(sent) if sent else None, attempts,
                       stamp(retry) if retry else None, "answered 400" if attempts else None,
                       None)


@pytest.mark.parametrize(("alert", "why", "until"), [
    (pending("plain"), "sending", None),
    (pending("plain", attempts=2, retry=NOON + timedelta(minutes=5)), "retry 3",
     NOON + timedelta(minutes=5)),
    (pending("quiet"), "quiet hours", datetime(2026, 6, 1, 14, 0, tzinfo=UTC)),
    (pending("quiet", rules=("sirens",)), "sending", None),  # high priority: through
    (pending("digest", created=NOON - timedelta(minutes=20)), "digest",
     NOON + timedelta(minutes=40)),
    # two messages in the last hour: room when the older is an hour old
    (pending("capped"), "max_per_hour (2) reached", NOON + timedelta(minutes=10)),
    (pending("gone"), "no such target in the configuration", None),
])
def test_a_pending_alert_says_why_it_waits(alert: TargetAlert, why: str,
                                          until: datetime | None) -> None:
    article = AlertedArticle(7, "wire", "https://n.example/1", "t", None, stamp(NOON), (alert,))
    outbox = Outbox(NOON, {t: policy(TARGETS[t], RULES) for t in TARGETS},
                    {"digest": [Outgoing(9, "digest", ("drones",), "", 0, "wire", "", "", None,
                                         None, stamp(NOON - timedelta(minutes=20)))]},
                    {"capped": [NOON - timedelta(minutes=15), NOON - timedelta(minutes=50)]},
                    {})
    state = outbox.state(alert, article)
    assert (state.status, state.why, state.until) == ("pending", why, until)


def test_only_a_breaker_still_open_says_the_target_looks_down() -> None:
    article = AlertedArticle(7, "wire", "", "t", None, stamp(NOON), ())
    open_, closed = Breaker(1, NOON + timedelta(minutes=1), "no answer"), \
        Breaker(1, NOON - timedelta(minutes=1), "no answer")
    for breaker, down in ((open_, NOON + timedelta(minutes=1)), (closed, None)):
        outbox = Outbox(NOON, {"plain": policy(TARGETS["plain"], RULES)}, {}, {},
                        {"plain": breaker})
        state = outbox.state(pending("plain"), article)
        assert (state.down_until, state.down_why) == (down, "no answer" if down else "")


def test_sent_and_failed_alerts_say_when_and_why() -> None:
    article = AlertedArticle(7, "wire", "", "t", None, stamp(NOON), ())
    outbox = Outbox(NOON, {}, {}, {}, {})
    sent = outbox.state(pending("plain", status="sent", sent=NOON), article)
    assert (sent.status, sent.when) == ("sent", NOON)
    failed = outbox.state(pending("plain", status="failed", attempts=4), article)
    assert (failed.status, failed.error, failed.attempts) == ("failed", "answered 400", 4)


def test_an_alert_judged_wrong_from_the_page(scene: Scene, browser: Any) -> None:
    """Last in the module: it leaves a verdict behind. The browser sends its Origin and
    Sec-Fetch-Site, as any would: the server takes verdicts only from its own page."""
    browser.get(scene.url + "/?refresh=off")
    title = "Largest drone attack on Kharkiv overnight"
    row = browser.find_element("xpath", f'//tr[th[normalize-space()="{title}"]]')
    row.find_element("xpath", './/button[starts-with(normalize-space(), "Wrong")]').click()
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    def judged(driver: Any) -> bool:  # on the page the verdict led back to
        found = driver.find_element("xpath", f'//tr[th[normalize-space()="{title}"]]')
        return driver.current_url.endswith("/#alerts") and "marked wrong" in found.text

    WebDriverWait(browser, 10, ignored_exceptions=[StaleElementReferenceException]).until(judged)
    assert scene.pipeline.store.feedback() == {"drones": ([], [title])}
