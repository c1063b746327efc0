"""Streaming reader for Amazon Associates Fee-Earnings report files (plain CSV/TSV or ZIP)."""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, overload

from connectors import digests

from .columns import NUMERIC_COLUMNS, HeaderMap, resolve_header
from .errors import AmazonReportError
from .marketplaces import (
    MARKETPLACES,
    Evidence,
    Marketplace,
    check_store,
    get_marketplace,
    normalise_shipped_date,
    number_normaliser,
    parse_title_date,
    store_evidence,
)

EARNINGS_REPORT = "Fee-Earnings"
DEFAULT_BATCH_SIZE = 20_000

_CHUNK = 1 << 20  # hash in 1 MiB binary chunks: ~50 ms per 100 MB with SHA-NI
# Cells made only of these are already plain numbers for the store's normaliser (its hot path
# returns them unchanged), so the call is skipped: five calls a row add up over millions.
_PLAIN_NUMBER_CHARS = {False: "0123456789.-+", True: "0123456789-+"}
_MAX_PREAMBLE_LINE = 64 * 1024  # a title or header longer than this is not one
_MAX_LEADING_BLANKS = 100
_TITLE = re.compile(
    r"(?P<type>[^\s,;\t\"]+)\s+reports?\s+from\s+(?P<start>[\d./-]+)\s+to\s+(?P<end>[\d./-]+)",
    re.IGNORECASE,
)
# Some parsers skip trailing `Total...` lines (section 1.2); IT writes `Totale`.
_TOTAL_PREFIXES = ("total", "gesamt", "合計")
# A ZIP starts with a local file header, or with the end record when it holds no file (an
# empty archive is 22 bytes), or with a spanning marker.
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_GZIP_MAGIC = b"\x1f\x8b"
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


@dataclass(frozen=True)
class ReportFile:
    """One report inside a file on disk, with its title and header already read and checked."""

    source: Path  # the file on disk (zip or plain)
    member: str | None  # member name inside a zip
    name: str  # display name: "x.csv" or "x.zip:inner.csv"
    content_hash: str  # sha256 hex of the report bytes (a zip member's uncompressed bytes)
    report_type: str  # "Fee-Earnings"
    period_start: date
    period_end: date
    marketplace: str
    currency: str
    columns: tuple[str, ...]  # canonical keys in file order
    positions: tuple[int, ...] = ()  # cell index of each column; () means 0..len(columns)-1
    delimiter: str = ","
    encoding: str = "utf-8-sig"
    header_line: int = 2  # physical line number of the header; data follows it
    header_width: int = 0  # number of header cells; 0 means len(columns)
    # Physical lines after the header (ended by LF, CRLF or a lone CR, as Python's reader
    # splits them), counted from the bytes: every ingest must account for each one (loaded,
    # rejected, or skipped with a reason), whichever reader read them. -1: not counted.
    data_lines: int = -1
    # "LF", "CRLF" or "CR" when every line ends alike, else "mixed" ("" if no line ends or
    # not counted). DuckDB's reader misreads some mixes (issue 10): it only reads uniform ones.
    line_ends: str = ""
    warnings: tuple[str, ...] = ()  # worth telling the user, not worth refusing the file


@dataclass(frozen=True, slots=True)
class RawLine:
    """One data row: canonical key -> cell text, numbers already in `1234.56` form."""

    line_no: int  # 1-based physical line number in the report
    fields: dict[str, str]
    raw: str  # the original line text, for the rejects table


def open_reports(
    path: Path,
    *,
    marketplace: str,
    period_start: date | None = None,
    period_end: date | None = None,
    check_text: bool = True,
    count_lines: bool = True,
) -> list[ReportFile]:
    """Read and check the title and header of every report in `path` (a report or a ZIP).

    Everything that makes a file unloadable (unknown store, wrong report type, bad header,
    no period, text that is not UTF-8) raises AmazonReportError here, before any row is read.
    With `check_text=False` the last of these, a decode of every byte, is left to
    `check_report_text`: a caller that only needs the content hash to find the report already
    ingested (and so already checked) saves that pass over the file. `count_lines=False`
    leaves the data lines uncounted too (data_lines -1): such a report serves to find its
    content in the ledger, never to load (the load's every-line check needs the count).
    """
    return _open_reports(
        Path(path),
        marketplace=marketplace,
        period_start=period_start,
        period_end=period_end,
        check_text=check_text,
        count_lines=count_lines,
    )


def _open_reports(
    path: Path,
    *,
    marketplace: str,
    period_start: date | None,
    period_end: date | None,
    check_text: bool,
    count_lines: bool,
) -> list[ReportFile]:
    try:
        market = get_marketplace(marketplace)
    except ValueError as exc:
        raise AmazonReportError(path.name, None, str(exc)) from None
    if not path.is_file():
        raise AmazonReportError(str(path), None, "no such file", "an earnings report file")
    with path.open("rb") as probe:
        magic = probe.read(4)
    if magic.startswith(_GZIP_MAGIC):
        raise AmazonReportError(
            path.name, None, "gzip-compressed file", "a .csv, .tsv or .zip report; gunzip it first"
        )
    if not magic.startswith(_ZIP_MAGICS):
        return [
            _open_one(
                path, None, path.name, market, period_start, period_end, check_text, count_lines
            )
        ]
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            names = [info.filename for info in members if _is_report_member(info)]
            if "[Content_Types].xml" in archive.namelist():
                raise AmazonReportError(
                    path.name, None, "an Excel workbook", "the report downloaded as CSV"
                )
    except zipfile.BadZipFile as exc:
        raise AmazonReportError(path.name, None, f"damaged ZIP archive ({exc})") from None
    if not members:
        raise AmazonReportError(
            path.name,
            None,
            f"an empty ZIP archive ({path.stat().st_size} bytes, no file in it)",
            "a ZIP holding the Fee-Earnings report (download it again)",
        )
    if not names:
        listed = ", ".join(repr(info.filename) for info in members[:5])
        raise AmazonReportError(
            path.name,
            None,
            f"a ZIP archive that holds no report file (only {listed})",
            "a ZIP holding the Fee-Earnings report",
        )
    reports = [
        _open_one(
            path,
            member,
            f"{path.name}:{member}",
            market,
            period_start,
            period_end,
            check_text,
            count_lines,
        )
        for member in names
    ]
    _refuse_overlaps(path.name, reports)
    return reports


def _refuse_overlaps(archive: str, reports: list[ReportFile]) -> None:
    """An archive is one input: two of its reports covering the same days would replace each
    other's lines in turn (only the last would stay), so such an archive is refused.

    Byte-identical members are let through: the second is a no-op re-ingest of the first.
    """
    ordered = sorted(reports, key=lambda r: (r.period_start, r.period_end))
    for index, second in enumerate(ordered[1:], start=1):
        # The earlier report reaching furthest is the one a later start can overlap.
        first = max(ordered[:index], key=lambda r: r.period_end)
        if second.period_start <= first.period_end and first.content_hash != second.content_hash:
            raise AmazonReportError(
                archive,
                None,
                f"members {first.member!r} ({first.period_start} to {first.period_end}) and"
                f" {second.member!r} ({second.period_start} to {second.period_end}) cover the"
                " same days: loaded one after the other, the second would erase the first's"
                " lines",
                "one report per period in an archive (ingest them separately, the current"
                " one last, or merge their lines into one report)",
            )


def _is_report_member(info: zipfile.ZipInfo) -> bool:
    base = info.filename.rsplit("/", 1)[-1]
    return not (info.is_dir() or info.filename.startswith("__MACOSX/") or base.startswith("."))


@contextlib.contextmanager
def _open_binary(source: Path, member: str | None, name: str) -> Iterator[IO[bytes]]:
    """The report's bytes: the plain file, or a zip member decompressed as it is read."""
    if member is None:
        with source.open("rb") as plain:
            yield plain
        return
    with contextlib.ExitStack() as stack:
        try:
            archive = stack.enter_context(zipfile.ZipFile(source))
            stream = stack.enter_context(archive.open(member))
        except (zipfile.BadZipFile, KeyError) as exc:
            raise AmazonReportError(name, None, f"cannot read ZIP member ({exc})") from None
        yield stream


@contextlib.contextmanager
def _open_text(source: Path, member: str | None, name: str, encoding: str) -> Iterator[IO[str]]:
    # newline="" hands CR/LF through untouched: the csv module needs that for quoted newlines.
    with _open_binary(source, member, name) as binary:
        text = io.TextIOWrapper(binary, encoding=encoding, newline="")
        try:
            yield text
        finally:
            text.detach()


def _sniff_encoding(source: Path, member: str | None, name: str) -> str:
    # Several parsers open reports as utf-8-sig (section 1.2); Excel's "Unicode text" re-save
    # of a tab-delimited report is UTF-16 with a BOM.
    with _open_binary(source, member, name) as binary:
        head = binary.read(2)
    return "utf-16" if head in _UTF16_BOMS else "utf-8-sig"


def _open_one(
    source: Path,
    member: str | None,
    name: str,
    marketplace: Marketplace,
    period_start: date | None,
    period_end: date | None,
    check_text: bool,
    count_lines: bool = True,
) -> ReportFile:
    encoding = _sniff_encoding(source, member, name)
    with _open_text(source, member, name, encoding) as text:
        try:
            title, title_line, header, header_line = _read_preamble(text, name)
            sample = _sample_lines(text)
        except UnicodeDecodeError:
            _hash_report(source, member, name, encoding)  # raises, naming the bad line
            raise AmazonReportError(
                name, 1, "the file is not UTF-8 text", "a CSV or tab-separated earnings report"
            ) from None
    if title is not None and title[0].casefold() != EARNINGS_REPORT.casefold():
        raise AmazonReportError(
            name,
            title_line,
            f"this is a {title[0]} report: only {EARNINGS_REPORT} reports go into the"
            " ledger (an orders report counts ordered items, not earned fees)",
            "a title 'Fee-Earnings reports from ... to ...'",
        )
    # The header is checked before the period: a file that is not an earnings report at all
    # should say so rather than complain about a missing period.
    delimiter = _sniff_delimiter(header)
    cells = next(csv.reader([header], delimiter=delimiter, skipinitialspace=True), [])
    header_map = resolve_header(cells, name=name, line=header_line)
    if title is not None:
        # Explicit arguments override the title, so only the dates still needed are parsed.
        _, start_token, end_token = title
        if period_start is None:
            period_start = parse_title_date(start_token, marketplace, name=name, line=title_line)
        if period_end is None:
            period_end = parse_title_date(end_token, marketplace, name=name, line=title_line)
    start, end = period_start, period_end
    if start is None or end is None:
        raise AmazonReportError(
            name,
            1,
            "no title line gives the report period and no period was passed",
            f"a first line 'Fee-Earnings reports from {marketplace.date_pattern} to"
            f" {marketplace.date_pattern}' or both period_start and period_end",
        )
    if start > end:
        raise AmazonReportError(
            name,
            title_line or None,
            f"the period starts ({start}) after it ends ({end})",
            "a start on or before the end",
        )
    # After the title: a title date in another store's order already says what is wrong.
    warning = check_store(
        marketplace, _store_evidence(header_map, cells, sample, delimiter, header_line), name=name
    )
    content_hash, counted = _hash_report(
        source, member, name, encoding, check_text=check_text, count_lines=count_lines
    )
    return ReportFile(
        source=source,
        member=member,
        name=name,
        content_hash=content_hash,
        report_type=EARNINGS_REPORT,
        period_start=start,
        period_end=end,
        marketplace=marketplace.code,
        currency=marketplace.currency,
        columns=header_map.columns,
        positions=header_map.positions,
        delimiter=delimiter,
        encoding=encoding,
        header_line=header_line,
        header_width=len(cells),
        data_lines=max(counted.finish() - header_line, 0) if count_lines else -1,
        line_ends=counted.line_ends,
        warnings=(warning,) if warning else (),
    )


def _read_preamble(text: IO[str], name: str) -> tuple[tuple[str, str, str] | None, int, str, int]:
    """Return (title parts or None, title line no, header text, header line no)."""
    line_no = 0
    title: tuple[str, str, str] | None = None
    title_line = 0
    while True:
        line = text.readline(_MAX_PREAMBLE_LINE)
        line_no += 1
        if not line:
            raise AmazonReportError(
                name, line_no, "the file ends before a header line", "a Fee-Earnings header"
            )
        if len(line) >= _MAX_PREAMBLE_LINE:
            raise AmazonReportError(
                name, line_no, "the line is too long for a title or header", "a CSV report"
            )
        stripped = line.strip()
        if not stripped.strip(',;\t"'):
            if line_no > _MAX_LEADING_BLANKS:
                raise AmazonReportError(name, line_no, "only blank lines", "a report header")
            continue
        if title is None:
            # The title may come quoted or padded with delimiters by a spreadsheet re-save.
            bare = stripped.rstrip(",;\t").strip('"').strip()
            match = _TITLE.match(bare)
            if match:
                title, title_line = (match["type"], match["start"], match["end"]), line_no
                continue
            if bare.casefold().startswith("fee-"):
                raise AmazonReportError(
                    name,
                    line_no,
                    f"unrecognised title {bare[:80]!r}",
                    "'Fee-Earnings reports from <start> to <end>'",
                )
        return title, title_line, line.rstrip("\r\n"), line_no


_SAMPLE_LINES = 500  # data lines read at open time for what tells the store (marketplaces.py)


def _sample_lines(text: IO[str]) -> list[str]:
    lines: list[str] = []
    while len(lines) < _SAMPLE_LINES and (line := text.readline(_MAX_PREAMBLE_LINE)):
        lines.append(line)
    return lines


def _store_evidence(
    header_map: HeaderMap, cells: list[str], sample: list[str], delimiter: str, header_line: int
) -> list[Evidence]:
    """What the header and the first data lines say about the report's store."""
    pairs = list(zip(header_map.columns, header_map.positions, strict=True))
    header = {key: cells[pos].strip() for key, pos in pairs}
    rows: list[tuple[int, dict[str, str]]] = []
    reader = csv.reader(sample, delimiter=delimiter, skipinitialspace=True)
    with contextlib.suppress(csv.Error):  # a sample cut inside a quoted cell: use what came
        for row in reader:
            line = header_line + reader.line_num
            rows.append((line, {key: row[pos] for key, pos in pairs if pos < len(row)}))
    return store_evidence(header, rows)


def _sniff_delimiter(header: str) -> str:
    # Recent web exports are comma-separated, older and data-feed ones tab-separated
    # (section 1.2); a spreadsheet re-save in an EU locale uses `;`.
    if "\t" in header:
        return "\t"
    if ";" in header and "," not in header:
        return ";"
    return ","


def check_report_text(report: ReportFile) -> None:
    """Raise AmazonReportError naming the file:line of the first bytes that are not text.

    The check `open_reports(..., check_text=False)` left out; call it before loading.
    """
    _hash_report(report.source, report.member, report.name, report.encoding)


def _hash_report(
    source: Path,
    member: str | None,
    name: str,
    encoding: str,
    *,
    check_text: bool = True,
    count_lines: bool = True,
) -> tuple[str, _LineCount]:
    """sha256 of the report bytes and its number of physical lines, checking on the way that
    they are text (one binary pass).

    UTF-8 is checked by Arrow's vectorised validator, a whole number of lines at a time (a
    third of the time of Python's decoder on a million lines with non-ASCII names, bench/);
    only bytes it refuses are decoded again here, to name their line. UTF-16 is decoded.
    A plain file's hash is kept per file identity (connectors/digests.py): the hash-only
    pass that looks a report up in the ledger and the full pass that loads it hash it once.
    """
    if member is None and not check_text and not count_lines:
        return digests.sha256_of(source), _LineCount()
    known = digests.known_sha256(source) if member is None else None
    digest = hashlib.sha256()
    utf8 = _Utf8Check() if check_text and encoding != "utf-16" else None
    lines = _LineCount()
    with _open_binary(source, member, name) as binary:
        while chunk := _read_chunk(binary, name):
            if known is None:
                digest.update(chunk)
            if count_lines:
                lines.feed(chunk)
            if utf8 is not None:
                utf8.feed(chunk)
    if check_text and (utf8 is None or not utf8.finish()):
        _decode_all(source, member, name, encoding)
    if encoding == "utf-16" and count_lines:
        lines = _LineCount(_count_text_lines(source, member, name, encoding))
    return known or digest.hexdigest(), lines


class _LineCount:
    """Physical lines of UTF-8 bytes, ended by LF, CRLF or a lone CR: the lines Python's text
    reader (newline="") and csv split a report into. Counted with bytes.count, ~0.1 s for a
    million lines, independently of either reader (DuckDB's or Python's)."""

    def __init__(self, decoded: int = 0) -> None:
        self.lines = decoded  # lines counted elsewhere (UTF-16): no line end style known
        self.lf = self.cr = self.crlf = 0
        self._cr_last = False
        self._open = False  # the bytes so far end inside a line

    def feed(self, chunk: bytes) -> None:
        lf = chunk.count(b"\n")
        cr = chunk.count(b"\r")
        crlf = chunk.count(b"\r\n") if cr and lf else 0
        if self._cr_last and chunk.startswith(b"\n"):
            crlf += 1  # a CRLF split between two chunks
        self.lf += lf
        self.cr += cr
        self.crlf += crlf
        self.lines += lf + cr - crlf
        self._cr_last = chunk.endswith(b"\r")
        self._open = not chunk.endswith((b"\n", b"\r"))

    def finish(self) -> int:
        """The lines counted, a last one without a line end included."""
        return self.lines + self._open

    @property
    def line_ends(self) -> str:
        """The one line end style of every line ("LF", "CRLF", "CR"), "mixed", or ""."""
        styles = [
            style
            for style, n in (
                ("LF", self.lf - self.crlf),
                ("CRLF", self.crlf),
                ("CR", self.cr - self.crlf),
            )
            if n
        ]
        return styles[0] if len(styles) == 1 else ("mixed" if styles else "")


def _count_text_lines(source: Path, member: str | None, name: str, encoding: str) -> int:
    # UTF-16 line ends are two bytes each: count them decoded (such re-saves are small).
    with _open_text(source, member, name, encoding) as text:
        return sum(1 for _ in text)


class _Utf8Check:
    """Whether a stream of bytes is UTF-8, checked line-aligned (a character never spans)."""

    def __init__(self) -> None:
        self._pending = b""
        self.valid = True

    def feed(self, chunk: bytes) -> None:
        if not self.valid:
            return
        if self._pending:
            chunk = self._pending + chunk
        elif chunk.isascii():
            return
        cut = chunk.rfind(b"\n") + 1
        self._pending = chunk[cut:]
        self.valid = _is_utf8(memoryview(chunk)[:cut])

    def finish(self) -> bool:
        """True when every byte fed was UTF-8 text."""
        return self.valid and _is_utf8(memoryview(self._pending))


def _is_utf8(data: memoryview) -> bool:
    if not data.nbytes:
        return True
    import pyarrow as pa  # not for `passive ingest` of known reports (flows/cli.py)

    offsets = pa.array([0, data.nbytes], pa.int32()).buffers()[1]
    try:
        pa.StringArray.from_buffers(1, offsets, pa.py_buffer(data)).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _decode_all(source: Path, member: str | None, name: str, encoding: str) -> None:
    """Decode every byte; raise AmazonReportError naming the line of the first bad one."""
    decoder = codecs.getincrementaldecoder("utf-16" if encoding == "utf-16" else "utf-8")()
    offset = 0
    with _open_binary(source, member, name) as binary:
        while chunk := _read_chunk(binary, name):
            # ASCII chunks need no decoding unless a multi-byte character straddles into them.
            if not chunk.isascii() or decoder.getstate()[0] or encoding == "utf-16":
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    bad = offset + exc.start - len(decoder.getstate()[0])
                    line = _line_of_offset(source, member, name, max(bad, 0))
                    raise AmazonReportError(
                        name,
                        line,
                        f"byte {exc.object[exc.start]:#04x} is not valid {encoding} text",
                        "a UTF-8 report (re-download it, do not re-save it in a spreadsheet)",
                    ) from None
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise AmazonReportError(
                name, None, f"the file ends inside a {encoding} character", "complete text"
            ) from None


def _read_chunk(binary: IO[bytes], name: str) -> bytes:
    try:
        return binary.read(_CHUNK)
    except zipfile.BadZipFile as exc:  # a zip member's CRC is checked as it is read
        raise AmazonReportError(name, None, f"damaged ZIP member ({exc})") from None


def _line_of_offset(source: Path, member: str | None, name: str, offset: int) -> int:
    """The 1-based line number holding byte `offset` (only used to word an error)."""
    newlines = 0
    with _open_binary(source, member, name) as binary:
        while offset > 0 and (chunk := binary.read(min(_CHUNK, offset))):
            newlines += chunk.count(b"\n")
            offset -= len(chunk)
    return newlines + 1


# Records per chunk: the unit a worker parses and validates. Small enough that two of them
# fit in a batch many times over (even load on two cores), big enough to amortise a hand-off.
CHUNK_RECORDS = 10_000


@dataclass(frozen=True, slots=True)
class RawChunk:
    """Consecutive physical lines of a report that start and end on record boundaries.

    Plain strings and ints, so a chunk crosses to a worker process as cheaply as its text.
    """

    first_line: int  # 1-based physical line number of text[0]
    text: list[str]  # the physical lines, line ends included (quoted newlines stay inside)
    records: int  # record starts counted by the splitter (blank lines included)


@dataclass(slots=True)
class ParsedChunk:
    """A chunk's data rows: the well-formed ones as normalised cell lists, the rest as RawLines.

    `cells[i]` holds the header's cells in file order with numbers and ship dates already
    normalised; `line_nos[i]`/`ends[i]` are its first and one-past-last physical line.
    """

    cells: list[list[str]]
    line_nos: list[int]
    ends: list[int]
    # rows whose cells do not line up with the header, or hold a NUL byte (rejected or not)
    ragged: list[RawLine]
    columns: tuple[str, ...]  # canonical key of each entry of a `cells` row
    first_line: int
    text: list[str]
    skipped: int = 0  # physical lines that hold no row: blank, delimiter-only or `Total...`
    continued: int = 0  # physical lines after a row's first (a quoted cell spans lines)

    @property
    def records(self) -> int:
        """Data rows read (blank lines and a Total line are not rows)."""
        return len(self.cells) + len(self.ragged)

    def raw(self, index: int) -> str:
        """The original text of well-formed row `index`, for the rejects table."""
        start = self.line_nos[index] - self.first_line
        stop = self.ends[index] - self.first_line
        return "".join(self.text[start:stop]).rstrip("\r\n")

    def raw_lines(self) -> list[RawLine]:
        """Every row as a RawLine (fields by canonical key), in file order."""
        out = [
            RawLine(self.line_nos[i], dict(zip(self.columns, cells, strict=True)), self.raw(i))
            for i, cells in enumerate(self.cells)
        ]
        if self.ragged:
            out = sorted([*out, *self.ragged], key=_line_no)
        return out


def _line_no(line: RawLine) -> int:
    return line.line_no


class RawBatch(Sequence[RawLine]):
    """Up to `batch_size` records of a report as unparsed chunks; parsed only when read.

    The ingest path hands the chunks to `parse_chunk` (possibly in worker processes); reading
    the batch as a sequence parses it here and gives the same RawLines as ever.
    """

    __slots__ = ("_lines", "chunks", "report")

    def __init__(self, report: ReportFile, chunks: list[RawChunk]) -> None:
        self.report = report
        self.chunks = chunks
        self._lines: list[RawLine] | None = None

    def _parsed(self) -> list[RawLine]:
        if self._lines is None:
            lines: list[RawLine] = []
            for chunk in self.chunks:
                lines += parse_chunk(self.report, chunk).raw_lines()
            self._lines = lines
        return self._lines

    def __len__(self) -> int:
        return len(self._parsed())

    @overload
    def __getitem__(self, index: int) -> RawLine: ...

    @overload
    def __getitem__(self, index: slice) -> list[RawLine]: ...

    def __getitem__(self, index: int | slice) -> RawLine | list[RawLine]:
        return self._parsed()[index]

    def __iter__(self) -> Iterator[RawLine]:
        return iter(self._parsed())


def iter_raw_batches(
    report: ReportFile,
    batch_size: int = DEFAULT_BATCH_SIZE,
    *,
    chunk_records: int = CHUNK_RECORDS,
) -> Iterator[RawBatch]:
    """Yield the report's data rows in batches of at most `batch_size`, streaming the file.

    Blank lines and a `Total...` line are skipped and not counted. A row whose cells do not
    line up with the header still comes out: the schema rejects it with a reason.

    Only line splitting happens here: a record ends at a line end outside quotes (quote
    parity per line, which is what a CSV quoted newline needs), and each batch is a list of
    chunks of whole records that `parse_chunk` turns into rows wherever it runs.
    """
    chunk_records = max(1, min(chunk_records, batch_size))
    with _open_text(report.source, report.member, report.name, report.encoding) as text:
        line_no = 0
        for _ in range(report.header_line):
            if not text.readline():
                return
            line_no += 1
        chunks: list[RawChunk] = []
        in_batch = 0
        lines: list[str] = []
        records = 0
        first = line_no + 1
        inside = False  # inside a quoted field that continues on the next line
        for line in text:
            lines.append(line)
            if '"' in line and line.count('"') & 1:
                inside = not inside
            if inside:
                continue
            records += 1
            if records == chunk_records or in_batch + records == batch_size:
                chunks.append(RawChunk(first, lines, records))
                in_batch += records
                first += len(lines)
                lines, records = [], 0
                if in_batch == batch_size:
                    yield RawBatch(report, chunks)
                    chunks, in_batch = [], 0
        if lines:
            chunks.append(RawChunk(first, lines, records + inside))
        if chunks:
            yield RawBatch(report, chunks)


def parse_chunk(report: ReportFile, chunk: RawChunk) -> ParsedChunk:
    """Parse a chunk's records: well-formed rows as normalised cells, the rest as RawLines.

    Raises AmazonReportError for CSV the reader cannot follow (a quote that never closes).
    """
    normalise = number_normaliser(MARKETPLACES[report.marketplace])
    plain = _PLAIN_NUMBER_CHARS[MARKETPLACES[report.marketplace].decimal_comma]
    positions = report.positions or tuple(range(len(report.columns)))
    pairs = list(zip(report.columns, positions, strict=True))
    text_cols = [(key, pos) for key, pos in pairs if key not in NUMERIC_COLUMNS]
    number_cols = [(key, pos) for key, pos in pairs if key in NUMERIC_COLUMNS]
    width = max(report.header_width, max(positions) + 1)
    asin_pos = dict(pairs)["asin"]
    date_pos = dict(pairs)["date_shipped"]
    number_positions = [pos for _, pos in number_cols]
    # Cells come out in file order: when the header has no gaps they need no re-selection.
    select = None if positions == tuple(range(width)) else positions
    cells_out: list[list[str]] = []
    line_nos: list[int] = []
    ends: list[int] = []
    ragged: list[RawLine] = []
    first = chunk.first_line
    reader = csv.reader(chunk.text, delimiter=report.delimiter, skipinitialspace=True)
    consumed = 0
    skipped = continued = 0
    # A row holding a NUL byte goes the per-model way, whose check words the reject.
    nul = any("\x00" in line for line in chunk.text)
    while True:
        try:
            cells = next(reader, None)
        except csv.Error as exc:
            raise _unreadable(report, chunk, consumed, exc) from None
        if cells is None:
            break
        start = consumed
        consumed = reader.line_num
        if (
            len(cells) == width
            and cells[asin_pos]
            and not (nul and any("\x00" in c for c in cells))
        ):
            continued += consumed - start - 1
            for pos in number_positions:
                value = cells[pos]
                if not value or value.strip(plain):
                    cells[pos] = normalise(value)
            shipped = cells[date_pos]
            if len(shipped) != 10:
                cells[date_pos] = normalise_shipped_date(shipped)
            cells_out.append(cells if select is None else [cells[p] for p in select])
            line_nos.append(first + start)
            ends.append(first + consumed)
            continue
        if _is_filler(cells):
            skipped += consumed - start
            continue
        continued += consumed - start - 1
        fields = _ragged_fields(cells, width, text_cols, number_cols, report.delimiter)
        for key, _pos in number_cols:
            if key in fields:
                fields[key] = normalise(fields[key])
        ragged_date = fields.get("date_shipped")
        if ragged_date is not None and len(ragged_date) != 10:
            fields["date_shipped"] = normalise_shipped_date(ragged_date)
        raw = "".join(chunk.text[start:consumed]).rstrip("\r\n")
        ragged.append(RawLine(first + start, fields, raw))
    return ParsedChunk(
        cells_out, line_nos, ends, ragged, report.columns, first, chunk.text, skipped, continued
    )


def _unreadable(report: ReportFile, chunk: RawChunk, at: int, exc: csv.Error) -> AmazonReportError:
    """What csv could not read at chunk line `at`, said as what is wrong with the file."""
    line = chunk.text[at] if at < len(chunk.text) else ""
    where = chunk.first_line + at
    if "field larger than field limit" in str(exc):
        if line.count('"') & 1:
            problem = "a quoted cell that starts on this line never ends"
        else:
            problem = (
                f"a line of {len(line.rstrip()):,} characters with a cell longer than"
                f" {csv.field_size_limit():,}, which no report cell is"
            )
        return AmazonReportError(
            report.name,
            where,
            f"{problem}: the file is not a readable Fee-Earnings report (damaged, or another"
            " kind of file)",
            "report lines of a few hundred characters, each quoted cell closed on its line",
        )
    return AmazonReportError(
        report.name,
        where,
        f"unreadable CSV ({exc})",
        "closed quotes: a quoted field that starts here never ends",
    )


def _is_filler(cells: list[str]) -> bool:
    """Blank lines, delimiter-only lines and a `Total...` line: not data."""
    for cell in cells:
        if cell.strip():
            return cell.strip().casefold().startswith(_TOTAL_PREFIXES)
    return True


def _ragged_fields(
    cells: list[str],
    width: int,
    text_cols: list[tuple[str, int]],
    number_cols: list[tuple[str, int]],
    delimiter: str,
) -> dict[str, str]:
    """Fields of a row with too few or too many cells: present keys only, extras flagged."""
    fields = {key: cells[pos] for key, pos in (*text_cols, *number_cols) if pos < len(cells)}
    extra = [cell for cell in cells[width:] if cell.strip()]
    if extra:
        # Not a column of the model: pydantic's extra="forbid" rejects the row and shows these.
        fields["unexpected_cells"] = delimiter.join(extra)
    return fields
