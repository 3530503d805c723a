"""nebsign's own SSRF canary: a tiny HTTP listener on 127.0.0.1 that records paths.

A server that fetches ``http://127.0.0.1:PORT/nebsign-canary/MARKER`` proves
SSRF without any outside callback service. Only loopback; it answers every
request with a short 200 and remembers at most :data:`MAX_SEEN` markers.
"""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["CanaryListener"]

MAX_SEEN = 10_000
PREFIX = "/nebsign-canary/"


class CanaryListener:
    """``async with CanaryListener() as c: c.url(marker); await c.seen(marker, 2.0)``."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._seen: set[str] = set()
        self._event = asyncio.Event()
        self.port = 0

    async def __aenter__(self) -> CanaryListener:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)

    def url(self, marker: str) -> str:
        return f"http://127.0.0.1:{self.port}{PREFIX}{marker}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 5.0)
            parts = line.decode("latin-1", "replace").split()
            if len(parts) >= 2 and parts[1].startswith(PREFIX) and len(self._seen) < MAX_SEEN:
                self._seen.add(parts[1][len(PREFIX) :][:64])
                self._event.set()
            writer.write(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            await writer.drain()
        except (TimeoutError, OSError, ValueError):
            pass
        finally:
            writer.close()

    async def seen(self, marker: str, wait: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while marker not in self._seen:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self._event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), remaining)
        return True
