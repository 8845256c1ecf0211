"""Is the network down? Told apart from feeds that are down by how many fail at once.

When most feeds polled lately failed without any answer (DNS, connection
refused or unreachable, connect timeout), the trouble is ours, not theirs:
their backoff does not climb, /healthz says so, and when the first answer
comes back every feed is brought forward to within one interval.
"""

from __future__ import annotations

from datetime import datetime, timedelta

WINDOW = timedelta(minutes=2)  # outcomes older than this are forgotten
QUORUM = 3  # at least this many feeds must have failed ...
SHARE = 0.8  # ... and this share of the feeds polled within the window


class Network:
    def __init__(self) -> None:
        self.latest: dict[str, tuple[datetime, bool]] = {}  # feed -> (when, no answer)
        self.was_down: datetime | None = None  # since when it has looked down

    def record(self, feed: str, ok: bool, when: datetime, network: bool = False) -> bool:
        """Note a poll's outcome; True when this one shows the network back up."""
        self.latest[feed] = (when, not ok and network)
        if ok and self.was_down is not None:
            self.was_down = None
            return True
        if not ok and network and self.was_down is None and self.down(when):
            self.was_down = when
        return False

    def down(self, now: datetime) -> bool:
        cutoff = now - WINDOW
        recent = [failed for when, failed in self.latest.values() if when >= cutoff]
        failed = sum(recent)
        return failed >= QUORUM and failed >= SHARE * len(recent)

    def reason(self, now: datetime) -> str | None:
        if self.was_down is None or not self.down(now):
            return None
        cutoff = now - WINDOW
        recent = [f for w, f in self.latest.values() if w >= cutoff]
        return (f"network down since {self.was_down:%H:%M:%S} UTC: {sum(recent)} of "
                f"{len(recent)} feeds polled in the last {WINDOW.seconds // 60} minutes got "
                "no answer")
