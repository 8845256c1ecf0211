"""Which instance sends a target's messages: a lease per target, in the database.

On a database several instances share (PostgreSQL), each target's outbox is
sent by one instance at a time, so its messages keep their order and none goes
twice. An instance holds a target's lease while it renews it; one that dies (a
SIGKILL, a lost machine) lets it run out, and another takes the target over,
with the messages the dead one left on their way (in doubt: sent again). An
instance that stops cleanly hands its leases back at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .timestamps import iso


class LeaseRows:
    conn: Any

    def hold_target(self, target: str, owner: str, now: datetime, until: datetime) -> str | None:
        """Take or renew a target's lease until a time; return who held it before (the
        owner itself when renewed, '' when nobody did) or None when another holds it."""
        before = self.conn.execute("SELECT owner, until FROM target_leases WHERE target = ?",
                                   [target]).fetchone()
        row = self.conn.execute(
            "INSERT INTO target_leases VALUES (?, ?, ?) ON CONFLICT (target) DO UPDATE "
            "SET owner = excluded.owner, until = excluded.until "
            "WHERE target_leases.owner = excluded.owner OR target_leases.until < ? "
            "RETURNING owner", [target, owner, iso(until), iso(now)]).fetchone()
        if row is None:
            return None
        return before[0] if before else ""

    def leases(self) -> dict[str, tuple[str, str]]:
        """target -> (owner, until)."""
        return {t: (o, u) for t, o, u in self.conn.execute(
            "SELECT target, owner, until FROM target_leases")}

    def release(self, owner: str | None, now: datetime) -> None:
        """Hand back an instance's leases (None: every instance's, for a database only
        one process uses): its targets, and the feeds it claimed and did not finish
        (due again at once)."""
        whose = "owner = ?" if owner is not None else "owner IS NOT NULL"
        self.conn.execute(f"DELETE FROM target_leases WHERE {whose}",
                          [owner] if owner is not None else [])
        self.conn.execute(f"DELETE FROM instances WHERE {whose.replace('owner', 'name')}",
                          [owner] if owner is not None else [])
        self.conn.execute(f"UPDATE feeds SET leased_by = NULL, next_poll = ? WHERE "
                          f"{whose.replace('owner', 'leased_by')}",
                          [iso(now), owner] if owner is not None else [iso(now)])
