"""URLs as strangers write them: what is safe to show, and where a request may go.

- `redacted(url)`: the URL with its credentials hidden (userinfo, and the values of
  query parameters named like a secret), for the database, logs and every display.
- `is_private(address)`: loopback, private, link-local and other non-public ranges,
  for refusing redirects from a public feed into the operator's own network.
- `site(host)`: the part of a host name a publisher registers (`www.bbc.co.uk` and
  `feeds.bbci.co.uk` are two sites; `www.bbc.co.uk` and `news.bbc.co.uk` one).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

HIDDEN = "***"

# A parameter whose name holds one of these carries a credential more often than not;
# hiding a harmless one (`?keyword=`) costs a little clarity, showing a token costs it.
_SECRET_NAME = re.compile(r"token|key|secret|pass|auth|sig|credential|session|cookie"
                          r"|jwt|bearer|hash|code", re.I)
_QUERY_PAIR = re.compile(r"([^&;=]*)(=?)([^&;]*)")


def redacted(url: str) -> str:
    """The URL with userinfo and secret-looking query values replaced by ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _cut_query(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = HIDDEN + "@" + netloc.rpartition("@")[2]
    query = _QUERY_PAIR.sub(_hide_value, parts.query) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def has_credentials(url: str) -> bool:
    return redacted(url) != url


def _hide_value(m: re.Match[str]) -> str:
    name, eq, value = m.groups()
    if eq and value and _SECRET_NAME.search(name):
        return f"{name}={HIDDEN}"
    return m.group(0)


def _cut_query(url: str) -> str:
    # Not a URL urlsplit takes apart: show no more than its scheme, host and path.
    head = re.split(r"[?#]", url, maxsplit=1)[0]
    return re.sub(r"//[^/@]*@", f"//{HIDDEN}@", head)


_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")


def redact_text(text: str) -> str:
    """Every URL in a piece of text (a log line, an error) redacted."""
    return _URL_IN_TEXT.sub(lambda m: redacted(m.group(0)), text)


# -- addresses ----------------------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

PRIVATE_NETWORKS: tuple[str, ...] = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4",
    "240.0.0.0/4", "255.255.255.255/32",
    "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8",
)


def networks(specs: Iterable[str]) -> tuple[Network, ...]:
    """CIDR strings as networks (raises ValueError naming a bad one)."""
    return tuple(ipaddress.ip_network(s, strict=False) for s in specs)


DEFAULT_PRIVATE = networks(PRIVATE_NETWORKS)


def is_private(address: str, private: tuple[Network, ...] = DEFAULT_PRIVATE) -> bool:
    """Whether an IP address (v4, v6, v4-mapped v6) lies in a private network."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == n.version and ip in n for n in private)


def ip_literal(host: str) -> str | None:
    """The host as an IP address when it is written as one, else None."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


# -- sites ------------------------------------------------------------------

# Second-level labels under which names are registered one level further down
# (bbc.co.uk, abc.net.au): enough for news sites without a public-suffix list.
_SECOND_LEVEL = {"co", "com", "net", "org", "gov", "ac", "edu", "gv", "or", "ne", "go",
                 "mil", "nic", "gob", "gouv", "nom", "ltd", "plc", "sch"}


def site(host: str) -> str:
    """The registered name of a host: the last two labels, three under co.uk-like ones."""
    labels = host.lower().rstrip(".").split(".")
    if ip_literal(host) or len(labels) <= 2:
        return ".".join(labels)
    keep = 3 if labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2 else 2
    return ".".join(labels[-keep:])


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
