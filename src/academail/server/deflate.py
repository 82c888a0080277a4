"""COMPRESS=DEFLATE (RFC 4978) under a line protocol's streams: raw deflate
(RFC 1951, no zlib header: ``wbits=-15``) both ways, each write ended by a
sync flush so the client can inflate every response at once (§4).

The inflating side is bounded: the input is inflated 64 KiB at a time into a
``StreamReader`` whose transport hooks (public ``set_transport``) pause the
inflating task once its buffer passes twice the stream limit, as asyncio
does for a socket. A deflate bomb therefore costs the line limits it would
cost in clear text, never its expanded size.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import Any

CHUNK = 64 * 1024


class _Gate(asyncio.Transport):
    """What the StreamReader calls when its buffer is full or drained."""

    def __init__(self) -> None:
        super().__init__()
        self.open = asyncio.Event()
        self.open.set()

    def pause_reading(self) -> None:
        self.open.clear()

    def resume_reading(self) -> None:
        self.open.set()


async def inflate(source: asyncio.StreamReader, target: asyncio.StreamReader) -> None:
    """Inflate ``source`` into ``target`` until EOF or bad data (then EOF too:
    the connection reads as closed, RFC 4978 §4 leaves errors to the transport)."""
    gate = _Gate()
    target.set_transport(gate)
    inflater = zlib.decompressobj(wbits=-15)
    try:
        while True:
            chunk = await source.read(CHUNK)
            if not chunk:
                break
            while chunk:
                await gate.open.wait()
                data = inflater.decompress(chunk, CHUNK)
                chunk = inflater.unconsumed_tail
                if data:
                    target.feed_data(data)
                if inflater.eof:
                    return
    except (zlib.error, ConnectionError, OSError):
        pass
    finally:
        target.feed_eof()


class DeflateWriter:
    """The StreamWriter methods a LineConnection uses, deflating each write."""

    def __init__(self, raw: asyncio.StreamWriter) -> None:
        self.raw = raw
        self.deflater = zlib.compressobj(wbits=-15)

    @property
    def transport(self) -> asyncio.WriteTransport:
        return self.raw.transport

    def write(self, data: bytes) -> None:
        self.raw.write(self.deflater.compress(data) + self.deflater.flush(zlib.Z_SYNC_FLUSH))

    def is_closing(self) -> bool:
        return self.raw.is_closing()

    async def drain(self) -> None:
        await self.raw.drain()

    def close(self) -> None:
        self.raw.close()

    async def wait_closed(self) -> None:
        await self.raw.wait_closed()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.raw.get_extra_info(name, default)


__all__ = ["DeflateWriter", "inflate"]
