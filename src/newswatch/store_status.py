"""What the status page and the alert feeds read: alerts by article, with each
target's state; feeds and rules as an operator watches them."""

from __future__ import annotations

import sqlite3


class StatusRows:
    conn: sqlite3.Connection
