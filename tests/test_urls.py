"""What is safe to show of a URL, what counts as private, what a site is."""

from __future__ import annotations

import pytest

from newswatch.urls import is_private, networks, redact_text, redacted, site


@pytest.mark.parametrize("url, shown", [
    ("https://example.com/feed.xml", "https://example.com/feed.xml"),
    ("https://example.com/rss?outputType=xml", "https://example.com/rss?outputType=xml"),
    ("https://u:p@example.com/rss", "https://***@example.com/rss"),
    ("https://token@example.com/rss", "https://***@example.com/rss"),
    ("https://example.com/rss?api_key=s3cr3t&lang=en",
     "https://example.com/rss?api_key=***&lang=en"),
    ("https://example.com/rss?access_token=a&Signature=b&X-Amz-Credential=c&pw=d",
     "https://example.com/rss?access_token=***&Signature=***&X-Amz-Credential=***&pw=d"),
    ("https://example.com/rss?password=hunter2#top", "https://example.com/rss?password=***#top"),
    ("https://example.com/rss?auth=", "https://example.com/rss?auth="),
    ("http://[::1/x?token=abc", "http://[::1/x"),
])
def test_redacted(url: str, shown: str) -> None:
    assert redacted(url) == shown


def test_redact_text_hides_every_url_in_a_line() -> None:
    line = 'HTTP Request: GET https://me:pw@h.example/f?key=abc "HTTP/1.1 200 OK"'
    assert redact_text(line) == \
        'HTTP Request: GET https://***@h.example/f?key=*** "HTTP/1.1 200 OK"'


@pytest.mark.parametrize("address, private", [
    ("127.0.0.1", True), ("10.1.2.3", True), ("172.31.0.1", True), ("192.168.1.1", True),
    ("169.254.169.254", True), ("100.64.0.1", True), ("0.0.0.0", True),
    ("::1", True), ("fd00::1", True), ("fe80::1%eth0", True), ("::ffff:127.0.0.1", True),
    ("8.8.8.8", False), ("93.184.216.34", False), ("2606:4700::1111", False),
    ("172.32.0.1", False),
])
def test_is_private(address: str, private: bool) -> None:
    assert is_private(address) is private


def test_what_counts_as_private_can_be_narrowed() -> None:
    only = networks(["127.0.0.2/32"])
    assert is_private("127.0.0.2", only) and not is_private("127.0.0.1", only)


@pytest.mark.parametrize("host, registered", [
    ("www.bbc.co.uk", "bbc.co.uk"), ("feeds.bbci.co.uk", "bbci.co.uk"),
    ("news.example.com", "example.com"), ("example.com", "example.com"),
    ("www.abc.net.au", "abc.net.au"), ("127.0.0.1", "127.0.0.1"),
    ("Legit.Example.", "legit.example"),
])
def test_site(host: str, registered: str) -> None:
    assert site(host) == registered
