"""Encodings: detected from a byte-order mark or the first non-ASCII bytes, decoded strictly, and
every byte that does not decode reported with its line, never imported as mojibake."""

from pathlib import Path

import pytest

from crmtui.tabular import decoding
from crmtui.tabular.errors import TableError
from crmtui.tabular.reading import open_table

HEADER = "客户名称,联系人,联系电话,备注"
ROWS = [
    "杭州云栖科技有限公司,王小明,13812345678,老客户",
    "李䶮,李䶮,+86 139 0000 0000,GB18030 才有的字",
]
GBK_ROWS = [
    "杭州云栖科技有限公司,王小明,13812345678,老客户",
    "北京朝阳贸易公司,张伟,13900000000,重点客户",
]


def _write(tmp_path: Path, data: bytes, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _read(path: Path, **options: str) -> tuple[str | None, tuple[str, ...], list[tuple[str, ...]]]:
    with open_table(path, **options) as table:
        rows = [row.cells for row in table.rows]
        return table.encoding, table.header, rows


def _csv(lines: list[str], newline: str = "\r\n") -> str:
    return newline.join(lines) + newline


@pytest.mark.parametrize(
    ("encoding", "bom", "detected"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", b"\xef\xbb\xbf", "utf-8-sig"),
        ("gb18030", b"", "gb18030"),
        ("utf-16-le", b"\xff\xfe", "utf-16"),
        ("utf-16-be", b"\xfe\xff", "utf-16"),
    ],
)
def test_each_encoding_is_detected_and_decoded(
    tmp_path: Path, encoding: str, bom: bytes, detected: str
) -> None:
    path = _write(tmp_path, bom + _csv([HEADER, *ROWS]).encode(encoding))

    found, header, rows = _read(path)

    assert found == detected
    assert header == ("客户名称", "联系人", "联系电话", "备注")  # no BOM left on the first header
    assert rows == [tuple(line.split(",")) for line in ROWS]


def test_gbk_text_is_read_as_gb18030(tmp_path: Path) -> None:
    """What Excel and WPS save as "CSV" on Chinese Windows: GBK, which GB18030 extends."""
    path = _write(tmp_path, _csv([HEADER, *GBK_ROWS]).encode("gbk"))

    found, _header, rows = _read(path)

    assert found == "gb18030"
    assert rows[1] == ("北京朝阳贸易公司", "张伟", "13900000000", "重点客户")


def test_gbk_cannot_hold_every_name_gb18030_can() -> None:
    """Why GB18030 and not GBK is the codec read: 䶮 is a real name character GBK lacks."""
    with pytest.raises(UnicodeEncodeError):
        "李䶮".encode("gbk")
    assert "李䶮".encode("gb18030").decode("gb18030") == "李䶮"


def test_chinese_text_after_a_long_ascii_start_still_decides_the_encoding(tmp_path: Path) -> None:
    """The decision waits for the first non-ASCII byte, even past the first chunk read."""
    ascii_rows = [f"Customer {n},Contact {n},1380000{n:04d},ok" for n in range(5000)]
    data = _csv(["name,contact,phone,notes", *ascii_rows, GBK_ROWS[1]]).encode("gbk")
    assert min(i for i, byte in enumerate(data) if byte >= 0x80) > decoding.CHUNK_SIZE

    found, _header, rows = _read(_write(tmp_path, data))

    assert found == "gb18030"
    assert rows[-1] == ("北京朝阳贸易公司", "张伟", "13900000000", "重点客户")


def test_gbk_text_that_is_also_valid_utf8_is_read_as_utf8_unless_told(tmp_path: Path) -> None:
    """Realistic Chinese can be valid UTF-8 byte for byte: 682 of GB2312's 3,755 common hanzi
    encode as a UTF-8 two-byte sequence in GBK (鲁 C2 B3, 迅 D1 B8, 实 CA B5, 业 D2 B5). With an
    ASCII header and only such text there is nothing to tell them apart; valid UTF-8 wins (the
    rule every detector follows, and right for any file a modern tool wrote), and the encoding
    given explicitly reads the file right. A Chinese header, as such sheets have, decides it."""
    gbk = "鲁迅实业".encode("gbk")
    assert gbk.decode("utf-8") != "鲁迅实业"  # valid UTF-8, meaning something else

    ambiguous = _write(tmp_path, _csv(["name,company", "鲁迅,实业"]).encode("gbk"))
    assert _read(ambiguous)[0] == "utf-8"
    assert _read(ambiguous, encoding="gbk")[2] == [("鲁迅", "实业")]

    with_chinese_header = _write(
        tmp_path, _csv(["客户名称,公司名称", "鲁迅,实业"]).encode("gbk"), "header.csv"
    )
    assert _read(with_chinese_header)[0] == "gb18030"
    assert _read(with_chinese_header)[2] == [("鲁迅", "实业")]


@pytest.mark.parametrize(
    ("encoding", "text", "line", "shown"),
    [
        ("cp1252", "name,city\nAnn,Paris\nJosée,São Paulo\n", 3, "Jos閑,S鉶 Paulo"),
        ("shift_jis", "name,city\n山田太郎,東京都\n", 2, "嶳揷懢榊,搶嫗搒"),
    ],
)
def test_a_file_that_reads_as_gb18030_but_not_as_chinese_is_refused(
    tmp_path: Path, encoding: str, text: str, line: int, shown: str
) -> None:
    """GB18030 decodes most byte pairs: Western and Japanese text come out as rare characters,
    which everyday Chinese (GB2312's characters) is not written in."""
    assert text.encode(encoding).decode("gb18030").splitlines()[line - 1] == shown

    with pytest.raises(TableError) as caught:
        _read(_write(tmp_path, text.encode(encoding)))

    assert caught.value.line == line
    assert f"the text is not Chinese ({shown!r})" in caught.value.reason
    assert _read(_write(tmp_path, text.encode(encoding)), encoding=encoding)[2][-1] == tuple(
        text.splitlines()[line - 1].split(",")
    )


def test_chinese_with_a_rare_name_character_is_still_read_as_gb18030(tmp_path: Path) -> None:
    """Names hold characters outside GB2312 (镕, 䶮): one among common ones is Chinese."""
    path = _write(tmp_path, _csv(["name,company", "朱镕基,北京贸易公司"]).encode("gbk"))

    assert _read(path)[0] == "gb18030"
    assert _read(path)[2] == [("朱镕基", "北京贸易公司")]


def test_an_explicit_encoding_overrides_detection(tmp_path: Path) -> None:
    path = _write(tmp_path, _csv(["name,city", "José,São Paulo"]).encode("latin-1"))

    assert _read(path, encoding="latin-1")[2] == [("José", "São Paulo")]


def test_an_explicit_utf8_encoding_still_drops_a_bom(tmp_path: Path) -> None:
    path = _write(tmp_path, b"\xef\xbb\xbf" + _csv(["name", "王小明"]).encode())

    assert _read(path, encoding="utf-8")[1] == ("name",)


def test_an_unknown_encoding_name_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, b"name\nx\n")

    with pytest.raises(TableError, match="unknown encoding 'klingon'"):
        _read(path, encoding="klingon")


def test_a_file_neither_utf8_nor_gb18030_names_the_line_of_its_first_bad_byte(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, _csv(["name,city", "Ann,Paris", "José,Lisboa"]).encode("latin-1"))

    with pytest.raises(TableError) as caught:
        _read(path)

    assert caught.value.line == 3
    assert "neither UTF-8 nor GB18030" in str(caught.value)
    assert str(caught.value).startswith("line 3: byte 0xE9")


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_an_undecodable_byte_deep_in_a_large_file_names_its_line(
    tmp_path: Path, encoding: str
) -> None:
    rows = [f"客户{n},联系人{n},1380000{n % 10000:04d},备注" for n in range(200_000)]
    rows[10] = '"多行\n备注",x,1,2'  # a record spanning two physical lines, counted as two
    good = _csv([HEADER, *rows]).encode(encoding)
    cut = good.index("客户150000,".encode(encoding))  # the record on physical line 150,003
    path = _write(tmp_path, good[:cut] + b"\xff" + good[cut:])

    with open_table(path) as table:
        assert table.header[0] == "客户名称"
        with pytest.raises(TableError) as caught:
            for _row in table.rows:
                pass

    assert caught.value.line == 150_003
    assert "0xFF" in caught.value.reason
    assert encoding.upper() in caught.value.reason


def test_a_truncated_character_at_the_end_of_the_file_names_the_last_line(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, _csv(["name", "王小明"]).encode() + "李".encode()[:2])

    with pytest.raises(TableError) as caught:
        _read(path)

    assert caught.value.line == 3


def test_a_nul_byte_is_reported_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, b"name,phone\nAnn,1\nBob\x00,2\n")

    with pytest.raises(TableError) as caught:
        _read(path)

    assert caught.value.line == 3
    assert "NUL" in caught.value.reason


def test_utf16_without_a_bom_is_reported_not_read_as_garbage(tmp_path: Path) -> None:
    path = _write(tmp_path, _csv(["name", "王小明"]).encode("utf-16-le"))

    with pytest.raises(TableError, match="UTF-16 without a byte-order mark") as caught:
        _read(path)

    assert caught.value.line == 1


def test_a_workbook_given_as_csv_is_named_for_what_it_is(tmp_path: Path) -> None:
    path = _write(tmp_path, b"PK\x03\x04rest of a zip file")

    with pytest.raises(TableError, match="XLSX workbook"):
        _read(path)


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030", "utf-16"])
def test_chunk_boundaries_inside_characters_and_line_endings_do_not_matter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encoding: str
) -> None:
    """Chunks of 5 bytes cut every multi-byte character and every "\\r\\n" somewhere."""
    monkeypatch.setattr(decoding, "CHUNK_SIZE", 5)
    monkeypatch.setattr(decoding, "SAMPLE_SIZE", 7)
    path = _write(tmp_path, _csv([HEADER, *ROWS, '"两行\r\n备注",a,b,c', *ROWS]).encode(encoding))

    with open_table(path) as table:
        rows = [(row.line, row.cells) for row in table.rows]

    assert table.encoding == encoding
    assert [line for line, _cells in rows] == [2, 3, 4, 6, 7]
    assert rows[2][1] == ("两行\r\n备注", "a", "b", "c")
    assert rows[4][1] == tuple(ROWS[1].split(","))
