"""Response bodies decompressed with a bound: a gzip or deflate bomb stops at the cap.

Kept apart from fetch.py so the worker processes that decompress and parse
bodies do not import the HTTP client.
"""

from __future__ import annotations

import zlib

from .errors import FetchError


def decode(body: bytes, encoding: str, cap: int) -> bytes:
    """A body decompressed, never to more than `cap` bytes (a gzip bomb stops there).

    Run where the body is parsed (a worker process), not in the event loop.
    """
    return Decoder(encoding, cap).feed(body) if encoding else body


class Decoder:
    """Decompresses a body while never holding more than `cap` bytes of output."""

    def __init__(self, encoding: str, cap: int) -> None:
        self.encoding = encoding.strip().lower()
        if self.encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
            raise FetchError(f"unsupported Content-Encoding {encoding!r}")
        # 47: zlib or gzip, detected from the header.
        self.zlib = zlib.decompressobj(47) if self.encoding not in ("", "identity") else None
        self.cap = cap
        self.size = 0
        self.started = False

    def feed(self, data: bytes) -> bytes:
        out = data if self.zlib is None else self._inflate(data)
        self.size += len(out)
        if self.size > self.cap:
            raise FetchError(f"body too large (over {self.cap} bytes)")
        return out

    def _inflate(self, data: bytes) -> bytes:
        assert self.zlib is not None
        try:
            out = self.zlib.decompress(data, self.cap - self.size + 1)
        except zlib.error:
            if self.started or self.encoding != "deflate":
                raise FetchError("the body could not be decompressed") from None
            self.zlib = zlib.decompressobj(-15)  # raw deflate, as some servers send
            out = self._raw_inflate(data)
        self.started = True
        if self.zlib.unconsumed_tail:  # output reached the cap with input left over
            raise FetchError(f"body too large (over {self.cap} bytes)")
        return out

    def _raw_inflate(self, data: bytes) -> bytes:
        assert self.zlib is not None
        try:
            return self.zlib.decompress(data, self.cap - self.size + 1)
        except zlib.error:  # neither zlib nor raw deflate: garbage, not a crash
            raise FetchError("the body could not be decompressed") from None
