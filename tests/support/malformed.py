"""Malformed and hostile documents, generated (nothing large is committed): one function per kind.

Each kind is a file name and its bytes. The zip and compression bombs are small on disk and huge once
expanded; they are built from a deflate stream of a repeated pattern, which costs a second or two.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from collections.abc import Callable

from tests.support.documents import encrypt_pdf, make_docx, make_pdf, make_pptx

_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">\n' for n in range(1, 10)
    )
    + "]>\n"
)


def _pdf() -> bytes:
    return make_pdf([["Quarterly report", "Revenue grew in every region this quarter."]] * 2)


class _Inflating:
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


def _zip(members: dict[str, bytes], bomb: tuple[str, _Inflating] | None = None) -> bytes:
    """A zip archive of deflated `members`, plus `bomb` (a name and its inflating data) if given."""
    entries: list[tuple[str, _Inflating | _Exact]] = [(name, _Exact(data)) for name, data in members.items()]
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


class _Exact:
    """A zip member compressed normally."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)

    def raw(self) -> bytes:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        return compressor.compress(self.data) + compressor.flush()

    def crc32(self) -> int:
        return zlib.crc32(self.data)


def _office_entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def docx_zip_bomb() -> bytes:
    """A DOCX whose word/document.xml expands to about 400 MB of paragraphs (under 1 MB zipped)."""
    entries = _office_entries(make_docx("Bomb", ["x"]))
    head, _, _ = entries.pop("word/document.xml").partition(b"<w:body>")
    unit = b"<w:p><w:r><w:t>boom</w:t></w:r></w:p>"
    document = _Inflating(head + b"<w:body>", unit, b"</w:body></w:document>", 400 << 20)
    return _zip(entries, ("word/document.xml", document))


def pptx_zip_bomb() -> bytes:
    """A PPTX whose first slide expands to about 400 MB of text runs (under 1 MB zipped)."""
    entries = _office_entries(make_pptx("Bomb", "x"))
    slide = next(n for n in entries if n.startswith("ppt/slides/slide") and n.endswith(".xml"))
    head, _, tail = entries.pop(slide).partition(b"<a:t>x</a:t>")
    return _zip(entries, (slide, _Inflating(head, b"<a:t>boom </a:t>", tail, 400 << 20)))


def docx_billion_laughs() -> bytes:
    """A DOCX whose document.xml declares nested entities (expanding to 10^9 "lol"s) and uses them."""
    entries = _office_entries(make_docx("Laughs", ["&lol9;"]))
    document = entries["word/document.xml"].decode()
    document = document.split("?>", 1)[1] if document.startswith("<?xml") else document
    entries["word/document.xml"] = (
        _LAUGHS.replace("lolz", "w:document") + document.replace("&amp;lol9;", "&lol9;")
    ).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def html_billion_laughs() -> bytes:
    """An HTML page (XHTML-style doctype) declaring nested entities and using the outermost one."""
    return (
        _LAUGHS.replace("lolz", "html") + "<html><body><h1>Laughs</h1><p>&lol9;</p></body></html>"
    ).encode()


def xml_billion_laughs() -> bytes:
    """The classic billion laughs as an .xml file."""
    return (_LAUGHS + "<lolz><item>&lol9;</item></lolz>").encode()


def pdf_flate_bomb() -> bytes:
    """A one-page PDF whose content stream inflates to about 400 MB (under 1 MB on disk)."""
    unit = b"BT /F1 12 Tf 72 720 Td (boom) Tj ET\n"
    stream = _Inflating(b"", unit, b"", 400 << 20).zlib_stream()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return _pdf_file(objects, root=1)


def pdf_page_tree_loop() -> bytes:
    """A PDF whose page tree contains itself."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ]
    return _pdf_file(objects, root=1)


def _pdf_file(objects: list[bytes], root: int) -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, xref)
    return bytes(out)


def _random(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def png_image() -> bytes:
    """A small valid PNG (text would need OCR, which the fast strategy does not do)."""
    width, height = 8, 8
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _zip_without_document() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("notes.txt", "not a word document")
    return buffer.getvalue()


def _bad_crc_docx() -> bytes:
    data = bytearray(make_docx("Checksums", ["The CRC of this part is wrong."]))
    marker = data.find(b"word/document.xml", data.find(b"PK\x03\x04"))
    header = data.rfind(b"PK\x03\x04", 0, marker)
    data[header + 14 : header + 18] = b"\xde\xad\xbe\xef"  # the local header's CRC-32
    central = data.find(b"word/document.xml", data.find(b"PK\x01\x02"))
    record = data.rfind(b"PK\x01\x02", 0, central)
    data[record + 16 : record + 20] = b"\xde\xad\xbe\xef"
    return bytes(data)


def _nested_html(depth: int) -> bytes:
    return b"<html><body>" + b"<div>" * depth + b"deep text" + b"</div>" * depth + b"</body></html>"


def _page(head: str, text: str) -> bytes:
    return f"<html><head>{head}</head><body><p>{text} page.</p></body></html>".encode()


def _eml_broken() -> bytes:
    return (
        b"From: ops@example.com\r\nTo: team@example.com\r\nSubject: outage report\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="zzz"\r\n\r\n'
        b"--zzz\r\nContent-Type: text/plain\r\n\r\nThe outage report is attached.\r\n"
        b"--zzz\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"!!!! not base64 at all !!!!\r\n"  # and the closing boundary never comes
    )


KINDS: dict[str, tuple[str, Callable[[], bytes]]] = {
    # kind: (file name, bytes)
    "pdf-truncated": ("truncated.pdf", lambda: _pdf()[: len(_pdf()) // 2]),
    "pdf-zero-bytes": ("zero.pdf", lambda: b""),
    "pdf-encrypted": ("encrypted.pdf", lambda: encrypt_pdf(_pdf(), "secret")),
    "pdf-header-only": ("header-only.pdf", lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"),
    "pdf-no-text": ("blank.pdf", lambda: make_pdf([[]])),
    "pdf-flate-bomb": ("flate-bomb.pdf", pdf_flate_bomb),
    "pdf-page-tree-loop": ("loop.pdf", pdf_page_tree_loop),
    "pdf-random-bytes": ("random.pdf", lambda: b"%PDF-1.4\n" + _random(50_000, 1)),
    "docx-zip-bomb": ("bomb.docx", docx_zip_bomb),
    "pptx-zip-bomb": ("bomb.pptx", pptx_zip_bomb),
    "docx-billion-laughs": ("laughs.docx", docx_billion_laughs),
    "docx-not-a-zip": ("not-a-zip.docx", lambda: _random(20_000, 2)),
    "docx-no-document-part": ("no-document.docx", _zip_without_document),
    "docx-bad-crc": ("bad-crc.docx", _bad_crc_docx),
    "pptx-truncated": ("truncated.pptx", lambda: make_pptx("Cut", "short")[:1500]),
    "html-billion-laughs": ("laughs.html", html_billion_laughs),
    "html-deeply-nested": ("nested.html", lambda: _nested_html(100_000)),
    "html-script-only": (
        "script-only.html",
        lambda: b"<html><script>" + b"var a=1;" * 100_000 + b"</script></html>",
    ),
    "html-bad-charset": (
        "bad-charset.html",
        lambda: _page('<meta charset="no-such-charset">', "Charset test"),
    ),
    "xml-billion-laughs": ("laughs.xml", xml_billion_laughs),
    "text-single-line-3mb": ("one-line-big.txt", lambda: b"word " * ((3 << 20) // 5)),
    "text-single-line-50kb": ("one-line.txt", lambda: b" ".join(b"token%d" % n for n in range(6_000))),
    "text-over-size-limit": ("huge.txt", lambda: b"All work and no play. " * 500_000),
    "md-binary-content": ("binary.md", lambda: _random(30_000, 3)),
    "text-latin1": ("latin1.txt", lambda: "Café crème à la façade du théâtre.\n".encode("latin-1") * 20),
    "text-latin1-with-commas": (
        "latin1-commas.txt",
        lambda: "Café, crème, déjà vu.\n".encode("latin-1") * 20,
    ),
    "text-nul-bytes": (
        "nul.txt",
        lambda: b"".join(b"Step %d of the runbook has a NUL\x00 byte\x00 in it.\n" % n for n in range(20)),
    ),
    "text-utf16-bom": (
        "utf16.txt",
        lambda: "UTF-16 runbook: restart the gateway and check the logs.\n".encode("utf-16"),
    ),
    "text-whitespace-only": ("blank.txt", lambda: b" \n\t\n   \n" * 100),
    "text-zero-bytes": ("zero.txt", lambda: b""),
    "md-100k-headings": ("headings.md", lambda: b"".join(b"# H%d\n\n" % n for n in range(100_000))),
    "csv-1e6-columns": ("wide.csv", lambda: b",".join(b"c%d" % n for n in range(1_000_000)) + b"\n"),
    "json-deeply-nested": ("nested.json", lambda: b"[" * 200_000 + b"]" * 200_000),
    "eml-broken-mime": ("broken.eml", _eml_broken),
    "png-image": ("picture.png", png_image),
    "unknown-binary": ("blob.bin", lambda: _random(10_000, 4)),
    "pdf-named-txt": ("actually-pdf.txt", _pdf),
}
