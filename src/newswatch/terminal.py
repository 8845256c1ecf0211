"""Text from feeds, servers and imported files, made safe to show on a terminal.

Whatever a stranger wrote (a title, a URL, a server's reason phrase, a feed
name from OPML) is shown as the characters it is, never acted on: control
characters are removed (ESC starts sequences that move the cursor, recolour,
retitle the window, write the clipboard (OSC 52) or draw a link to another
address; C1 0x80-0x9f includes one-byte forms of them), and so are the bidi
overrides and isolates, which make text read as something else. For rich,
text goes in as Text objects: never parsed as markup, so `[/bold]` or
`[link=...]` in a title is shown as typed.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.text import Text

# C0 but tab and newline, DEL, C1, bidi embeddings and overrides (U+202A-U+202E),
# bidi isolates (U+2066-U+2069).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_BREAKS = re.compile("[\t\n\r\x0b\x0c\x85\u2028\u2029]+")
# What json.dumps(ensure_ascii=False) leaves as it is, and a terminal would act on.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(text: str | None) -> str:
    """Text without the characters a terminal acts on; tabs and newlines are kept."""
    return _UNSAFE.sub("", text or "")


def one_line(text: str | None) -> str:
    """Text for one line: clean, and each run of line breaks or tabs a single space (a
    title cannot start a line that looks like newswatch's own output)."""
    return clean(_BREAKS.sub(" ", text or ""))


def rich_text(text: str | None, single: bool = False) -> Text:
    """A rich Text of plain characters (on one line if `single`): markup in it is
    shown, not applied."""
    from rich.text import Text

    return Text(one_line(text) if single else clean(text))


def json_dumps(value: Any) -> str:
    """JSON for a terminal: exactly the data (json.loads gives it back unchanged), with
    the characters a terminal acts on written as \\u escapes (json escapes C0 itself)."""
    out = json.dumps(value, indent=2, ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", out)
