"""newswatch's own apprise targets, registered on import.

`stdout://` prints each alert to standard output: under systemd, the journal.
"""

from __future__ import annotations

import sys

from .imports import without
from .terminal import clean, one_line

with without("chardet", "cchardet"):
    # apprise's HTTP client, imported here, first: it takes charset-normalizer instead.
    import requests  # noqa: F401
    from apprise.decorators import notify


@notify(on="stdout", body_format="text")  # type: ignore[untyped-decorator, no-untyped-call, unused-ignore]
def print_alert(body: str, title: str, notify_type: str, *args: object, **kwargs: object) -> bool:
    # A title and a snippet are a stranger's text: on a terminal, shown, never obeyed.
    print(f"=== {one_line(title)}\n{clean(body)}\n", file=sys.stdout, flush=True)
    return True
