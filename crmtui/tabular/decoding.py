"""Bytes to physical lines of text: the encoding detected (or given), every byte decoded strictly.

Why not `io.TextIOWrapper`: when it meets an undecodable byte it cannot say on which line, and
a file must never be imported as mojibake, so every decoding problem here names its line.
Only a chunk of the file is in memory at a time.

Detection, for files whose encoding is not given:
1. a byte-order mark decides: UTF-8 (Excel's "CSV UTF-8") or UTF-16 (Excel's "Unicode text");
2. otherwise ASCII text is read as it comes, undecided, until the first non-ASCII byte;
3. the bytes from there (at least 4 KiB of them, or up to the end of the file) decide:
   valid UTF-8 is UTF-8, else GB18030 (the superset of GBK that Excel and WPS write on Chinese
   Windows) if they decode as that and read as Chinese. A file neither decodes as is read as
   UTF-8, so the error names the line of the first bad byte.
4. "Read as Chinese": most of the non-ASCII characters are among GB2312's, the set everyday
   Chinese is written in. GB18030 decodes most byte pairs, so a Western file (Windows-1252:
   Müller, São Paulo) often decodes as GB18030 too, into rare characters (M黮ler, S鉶 Paulo);
   such a file is refused, naming its line, rather than imported as that.
A later byte that does not decode in the chosen encoding is an error naming its line.
"""

import codecs
import re
from collections.abc import Generator, Iterator
from typing import BinaryIO

from crmtui.i18n import _
from crmtui.tabular.errors import TableError

CHUNK_SIZE = 1 << 16
SAMPLE_SIZE = 4096  # bytes after the first non-ASCII byte that choose UTF-8 or GB18030
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_WORKBOOKS = (
    (b"PK\x03\x04", _("this is an XLSX workbook (a zip file), not CSV text")),
    (b"\xd0\xcf\x11\xe0", _("this is an old Excel .xls workbook; save it as .xlsx or CSV")),
)
_NON_ASCII = re.compile(rb"[\x80-\xff]")
# str.splitlines also breaks at these; a CSV line ends only at \r\n, \n or \r.
_OTHER_BREAKS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")
_LINE_END = re.compile(r"\r\n|\r|\n")


class DecodedLines:
    """The physical lines of a binary stream, each with its line ending, decoded strictly.

    Iterate once. `encoding` is the codec in use: for a file that is ASCII so far it reads
    "utf-8" until a non-ASCII byte decides between UTF-8 and GB18030.
    """

    def __init__(self, raw: BinaryIO, encoding: str | None = None) -> None:
        self._raw = raw
        self._given = encoding is not None
        self.encoding = _codec_name(encoding) if encoding is not None else "utf-8"
        self._neither = False  # detection found neither UTF-8 nor GB18030
        self._not_chinese = ""  # what GB18030 made of a sample that is not Chinese
        self._lines_done = 0

    def __iter__(self) -> Iterator[str]:
        return self._lines()

    def _lines(self) -> Iterator[str]:
        texts = self._texts()
        rest = ""  # the start of a line whose end is in the next chunk
        first = True
        while True:
            try:
                text = next(texts, None)
            except UnicodeDecodeError as exc:
                valid = exc.object[: exc.start].decode(exc.encoding)
                bad = exc.object[exc.start]
                raise TableError(self._undecodable(bad), self._line_of(rest + valid)) from None
            if text is None:
                break
            if first and text:
                text = text.removeprefix("\ufeff")  # a BOM left by an encoding given as utf-8
                first = False
            if "\x00" in text:
                where = self._line_of(rest + text[: text.index("\x00")])
                raise TableError(_nul_message(self.encoding), where)
            text = rest + text
            end = len(text) - 1 if text.endswith("\r") else len(text)  # "\r" may be "\r\n"
            cut = max(text.rfind("\n", 0, end), text.rfind("\r", 0, end)) + 1
            rest = text[cut:]
            lines = _split(text[:cut])
            self._lines_done += len(lines)
            yield from lines
        if rest:  # the last line, without a line ending or with a lone "\r"
            self._lines_done += 1
            yield rest

    def _line_of(self, text_before: str) -> int:
        """The 1-based line of a position, given the text before it since the last line yielded."""
        return self._lines_done + len(_LINE_END.findall(text_before)) + 1

    def _texts(self) -> Iterator[str]:
        chunks = _chunks(self._raw)
        data = next(chunks, b"")
        for magic, message in _WORKBOOKS:
            if data.startswith(magic):
                raise TableError(message)
        if not self._given:
            data = yield from self._detect(data, chunks)
        decoder = codecs.getincrementaldecoder(self.encoding)("strict")
        while data:
            yield decoder.decode(data)
            data = next(chunks, b"")
        yield decoder.decode(b"", final=True)

    def _detect(self, data: bytes, chunks: Iterator[bytes]) -> Generator[str, None, bytes]:
        """Choose `encoding`, passing ASCII text on as it comes; return the bytes left to decode."""
        for bom, codec in _BOMS:
            if data.startswith(bom):
                self.encoding = codec
                return data
        line = b""  # the end of the ASCII text passed on: the start of the sample's first line
        while data.isascii():
            if not data:
                return data
            line = _last_line(line + data)
            yield data.decode("ascii")
            data = next(chunks, b"")
        start = _NON_ASCII.search(data).start()  # type: ignore[union-attr]  # not ASCII
        if start:
            line = _last_line(line + data[:start])
            yield data[:start].decode("ascii")
            data = data[start:]
        end_of_file = False
        while len(data) < SAMPLE_SIZE and not end_of_file:
            more = next(chunks, b"")
            data += more
            end_of_file = not more
        for codec in ("utf-8", "gb18030"):
            try:
                text = codecs.getincrementaldecoder(codec)("strict").decode(data, final=end_of_file)
            except UnicodeDecodeError:
                continue
            if codec == "gb18030" and not _reads_as_chinese(text):
                rare = next(i for i, c in enumerate(text) if not c.isascii() and _is_rare(c))
                start = len(text[:rare].encode(codec))
                line_start = max(text.rfind("\n", 0, rare), text.rfind("\r", 0, rare)) + 1
                before = line.decode("ascii") if line_start == 0 else ""
                self._not_chinese = (before + _LINE_END.split(text[line_start:], 1)[0])[:40]
                raise UnicodeDecodeError(codec, data, start, start + 1, "not Chinese")
            self.encoding = codec
            return data
        self.encoding = "utf-8"
        self._neither = True
        return data

    def _undecodable(self, byte: int) -> str:
        if self._not_chinese:
            return _(
                "byte 0x{byte:02X} is not UTF-8, and read as GB18030 the text is not Chinese "
                "({text!r}); give the file's encoding (cp1252 for Excel on Western European "
                "Windows)"
            ).format(byte=byte, text=self._not_chinese)
        if self._neither:
            return _(
                "byte 0x{byte:02X} is neither UTF-8 nor GB18030; give the file's encoding"
            ).format(byte=byte)
        if self._given:
            return _(
                "byte 0x{byte:02X} is not valid {encoding}; is the file in another encoding?"
            ).format(byte=byte, encoding=_display(self.encoding))
        return _(
            "byte 0x{byte:02X} is not valid {encoding}, the encoding the start of the file is in;"
            " give the file's encoding"
        ).format(byte=byte, encoding=_display(self.encoding))


def _last_line(data: bytes) -> bytes:
    """The text after the last line break (its last 40 bytes: what an error quotes)."""
    return data[max(data.rfind(b"\n"), data.rfind(b"\r")) + 1 :][-40:]


def _is_rare(character: str) -> bool:
    """Whether a non-ASCII character is outside GB2312, the characters of everyday Chinese."""
    try:
        character.encode("gb2312")
    except UnicodeEncodeError:
        return True
    return False


def _reads_as_chinese(text: str) -> bool:
    """Whether at most half the non-ASCII characters of `text` are rare ones (see `_is_rare`):
    a name's rare character (李䶮) or two are Chinese; a Western text read as GB18030 is rare
    characters throughout."""
    foreign = [c for c in text if not c.isascii()]
    return sum(map(_is_rare, foreign)) * 2 <= len(foreign)


def _display(codec: str) -> str:
    """A codec as people name it: "utf-8-sig" is UTF-8 (with a byte-order mark)."""
    return codec.upper().removesuffix("-SIG")


def _codec_name(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise TableError(_("unknown encoding {encoding!r}").format(encoding=encoding)) from None


def _chunks(raw: BinaryIO) -> Iterator[bytes]:
    first = raw.read(CHUNK_SIZE)
    while first and len(first) < 4:  # a short read must not cut a byte-order mark or signature
        more = raw.read(CHUNK_SIZE)
        if not more:
            break
        first += more
    if first:
        yield first
    while chunk := raw.read(CHUNK_SIZE):
        yield chunk


def _split(text: str) -> list[str]:
    """Lines of text that ends with a line ending, each keeping its ending."""
    if any(mark in text for mark in _OTHER_BREAKS):
        return _LINE.findall(text)
    return text.splitlines(keepends=True)


def _nul_message(encoding: str) -> str:
    if encoding.startswith("utf-16"):
        return _("the file contains a NUL character")
    return _(
        "the file contains a NUL byte (is it UTF-16 without a byte-order mark? give its encoding)"
    )
