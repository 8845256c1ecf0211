"""Outage: the network goes away for a while, then comes back. How soon is every feed read?

    python bench/outage.py [--feeds 50] [--interval 60] [--outage 600]

`newswatch run` polls --feeds feeds on a local server every --interval
seconds. The server then stops listening and drops its connections (to the
daemon, the same as the network going down) for --outage seconds, and comes
back. The run prints how long after recovery the last feed was fetched,
against the baseline it must beat: one interval (ratio <= 1.0), and each
feed's backoff at the end of the outage (it should not have climbed). Exit 0
when every feed was fetched within one interval. Everything is on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

from servers import FeedServer, Item, rss  # noqa: E402


def run(feeds: int, interval: float, outage: float) -> dict[str, float]:
    server = FeedServer()
    names = [f"f{i}" for i in range(feeds)]
    for name in names:
        server.publish(f"/{name}.xml", rss([Item(name, f"https://o.example/{name}")]))
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        text = f'[newswatch]\ndatabase = "nw.db"\ninterval = "{interval:g}s"\n'
        for name in names:
            text += f'[[feeds]]\nname = "{name}"\nurl = "{server.url(f"/{name}.xml")}"\n'
        config.write_text(text)
        with (Path(tmp) / "daemon.log").open("w") as log:
            proc = subprocess.Popen([sys.executable, "-m", "newswatch", "-c", str(config),
                                     "run"], stdout=subprocess.DEVNULL, stderr=log)
        try:
            while not all(server.hits(f"/{n}.xml") for n in names):
                time.sleep(0.2)
            server.go_down()
            time.sleep(outage)
            with sqlite3.connect(Path(tmp) / "nw.db") as conn:
                gaps = [g for (g,) in conn.execute(
                    "SELECT (julianday(next_poll) - julianday(last_poll)) * 86400 FROM feeds")]
            before = {n: server.hits(f"/{n}.xml") for n in names}
            server.come_back()
            back = time.monotonic()
            last = 0.0
            for name in names:
                while server.hits(f"/{name}.xml") == before[name]:
                    if time.monotonic() - back > 4 * interval:
                        break
                    time.sleep(0.1)
                last = max(last, time.monotonic() - back)
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    server.close()
    return {"feeds": feeds, "interval_s": interval, "outage_s": outage,
            "all_polled_after_s": round(last, 1), "ratio_to_interval": round(last / interval, 2),
            "max_backoff_at_end_s": round(max(gaps), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--interval", type=float, default=60.0)
    parser.add_argument("--outage", type=float, default=600.0)
    args = parser.parse_args()
    result = run(args.feeds, args.interval, args.outage)
    for key, value in result.items():
        print(f"{key}: {value}")
    return 0 if result["ratio_to_interval"] <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
