"""Reading an import file: CSV, .xlsx or the CAF/MSA XML flux, as a stream of checked rows.

`read_import_file` checks the file as a whole when it is called (size, format recognised from the
content, encoding, structure, header, at least one row) and raises ImportFileError with a French message
if it is refused; it then returns an iterator yielding one RowResult per data row, in file order. It
writes nothing: imports.apply does. docs/imports.md describes the formats and the columns.
"""

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from openpyxl import load_workbook

from casework.models import BeneficiaryOrganism
from core.formats import file_size
from imports.columns import (
    IMPORT_COLUMNS,
    HeaderMatch,
    ImportColumn,
    check_mapping,
    match_header,
    normalise_header,
)
from imports.flux import check_flux, read_flux
from imports.records import ImportFileError, RowError, RowResult
from imports.validation import Cell, as_text, parse_organism, validate_row

__all__ = [
    "IMPORT_COLUMNS",
    "ImportColumn",
    "count_data_rows",
    "detect_format",
    "normalise_header",
    "read_import_file",
]

CSV, XLSX, XML = "csv", "xlsx", "xml"
EXTENSIONS = {".csv": CSV, ".txt": CSV, ".tsv": CSV, ".xlsx": XLSX, ".xml": XML}
DELIMITERS = ";,\t"
DELIMITER_NAMES = {";": "point-virgule", ",": "virgule", "\t": "tabulation"}
SNIFF_CHARS = 64 * 1024
CHUNK_SIZE = 1024 * 1024
# A .xlsx is a zip: refuse one whose content would unpack to more than this many times the upload limit.
XLSX_MAX_EXPANSION = 20
# csv refuses a field longer than its limit (128 KiB by default): a cell is never that long.
csv.field_size_limit(1024 * 1024)

ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
UTF8_BOM = codecs.BOM_UTF8
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
ORGANISM_VALUES = tuple(BeneficiaryOrganism.values)
FORMAT_NAMES = {CSV: "un fichier CSV", XLSX: "un classeur Excel (.xlsx)", XML: "un fichier XML"}


def max_bytes() -> int:
    return getattr(settings, "IMPORT_MAX_BYTES", 200 * 1024 * 1024)


def detect_format(path: Path, *, filename: str) -> str:
    """CSV, XLSX or XML, from the content (the extension, when there is one, must agree); refuses an
    empty, too big, binary or unsupported file."""
    size = path.stat().st_size
    if size == 0:
        raise ImportFileError("Le fichier est vide.")
    if size > max_bytes():
        raise ImportFileError(
            f"Le fichier pèse {file_size(size)}, au-delà de la limite de {file_size(max_bytes())} : "
            f"découpez-le ou demandez à l'administrateur de relever la limite."
        )
    extension = Path(filename).suffix.lower()
    if extension == ".xls":
        raise ImportFileError(
            "Les classeurs Excel 97-2003 (.xls) ne sont pas pris en charge : enregistrez-le au format .xlsx ou CSV."
        )
    if extension and extension not in EXTENSIONS:
        raise ImportFileError(
            f"Format de fichier non pris en charge ({extension}) : envoyez un fichier CSV, un classeur Excel "
            f"(.xlsx) ou le flux XML bénéficiaires RSA de la CAF ou de la MSA."
        )
    with path.open("rb") as stream:
        head = stream.read(4096)
    if head.startswith(ZIP_MAGIC):
        found = XLSX
    elif head.startswith(OLE2_MAGIC):
        raise ImportFileError(
            "Ce fichier est un ancien classeur Excel (.xls) ou un document Office 97-2003 : enregistrez-le au "
            "format .xlsx ou CSV."
        )
    else:
        text = _decode_head(head)
        stripped = text.lstrip()
        if not stripped:
            raise ImportFileError("Le fichier est vide.")
        if stripped.startswith("<"):
            found = XML
        elif "\x00" in text or head.startswith(b"%PDF"):
            raise ImportFileError(
                "Ce fichier n'est ni un CSV, ni un classeur .xlsx, ni un flux XML (contenu binaire)."
            )
        else:
            found = CSV
    expected = EXTENSIONS.get(extension)
    if expected and expected != found:
        raise ImportFileError(
            f"Le fichier porte l'extension {extension} mais son contenu est {FORMAT_NAMES[found]} : "
            f"vérifiez que vous avez envoyé le bon fichier, ou renommez-le."
        )
    return found


def _decode_head(head: bytes) -> str:
    for bom in UTF16_BOMS:
        if head.startswith(bom):
            return head.decode("utf-16", errors="replace")
    if head.startswith(UTF8_BOM):
        head = head[len(UTF8_BOM) :]
    return head.decode("latin-1")


# CSV -------------------------------------------------------------------------------------------------


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) or UTF-16 (with BOM), else Windows-1252 (a superset of Latin-1 for
    the characters French uses); refuses a file that is neither. The whole file is decoded once."""
    with path.open("rb") as stream:
        head = stream.read(4)
    if head.startswith(UTF16_BOMS):
        candidates = ("utf-16",)
    elif head.startswith(UTF8_BOM):
        candidates = ("utf-8-sig",)
    else:
        candidates = ("utf-8", "cp1252")
    for encoding in candidates:
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        try:
            with path.open("rb") as stream:
                while chunk := stream.read(CHUNK_SIZE):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise ImportFileError(
        "L'encodage du fichier n'est pas reconnu (ni UTF-8, ni Windows-1252/Latin-1) : enregistrez-le en "
        "« CSV UTF-8 » depuis votre tableur."
    )


def detect_delimiter(sample: str) -> str:
    """`;`, `,` or tab, as csv.Sniffer sees the first lines; when it cannot tell, the one the header line
    holds most of."""
    lines = sample.splitlines()
    header = next((line for line in lines if line.strip()), "")
    complete = "\n".join(lines[:-1]) if len(lines) > 1 else sample
    try:
        delimiter = csv.Sniffer().sniff(complete, delimiters=DELIMITERS).delimiter
    except csv.Error:
        delimiter = ""
    if delimiter and delimiter in header:
        return delimiter
    counts = {candidate: header.count(candidate) for candidate in DELIMITERS}
    best = max(counts, key=lambda candidate: counts[candidate])
    return best if counts[best] else ";"


class _CsvFile:
    def __init__(self, path: Path, mapping: dict[str, str]):
        self.path = path
        self.encoding = detect_encoding(path)
        with path.open(encoding=self.encoding, newline="") as stream:
            self.delimiter = detect_delimiter(stream.read(SNIFF_CHARS))
        self.header: HeaderMatch | None = None
        self.header_width = 0
        self.rows = 0
        # Structure pass: the header, the number of rows, and any error the csv module raises, all known
        # before the first row is handed out.
        for _line, cells in self._records():
            if self.header is None:
                self.header = match_header(cells, mapping)
                self.header_width = len(cells)
            else:
                self.rows += 1
        if self.header is None:
            raise ImportFileError("Le fichier est vide.")
        if not self.rows:
            raise ImportFileError("Le fichier ne contient aucune ligne : seulement la ligne d'en-tête.")

    def _records(self) -> Iterator[tuple[int, list[str]]]:
        """Non-blank records with the line they start on (a quoted field may span lines)."""
        with self.path.open(encoding=self.encoding, newline="") as stream:
            reader = csv.reader(stream, delimiter=self.delimiter)
            previous = 0
            try:
                for cells in reader:
                    start, previous = previous + 1, reader.line_num
                    if any(cell.strip() for cell in cells):
                        yield start, cells
            except csv.Error as error:
                raise ImportFileError(
                    f"Le fichier CSV est mal formé vers la ligne {reader.line_num + 1} ({error}) : vérifiez les "
                    f"guillemets et le séparateur."
                ) from error

    def results(self, default_organism: str | None) -> Iterator[tuple[RowResult, tuple[str, str] | None]]:
        header = self.header
        first = True
        for line, cells in self._records():
            if first:  # the header row
                first = False
                continue
            values = {
                name: Cell(header.labels[name], cells[index] if index < len(cells) else "")
                for name, index in header.positions.items()
            }
            extra_errors = ()
            if len(cells) > self.header_width and any(cell.strip() for cell in cells[self.header_width :]):
                extra_errors = (
                    RowError(
                        line=line,
                        column="",
                        message=(
                            f"La ligne compte {len(cells)} valeurs pour {self.header_width} colonnes d'en-tête "
                            f"(séparateur : {DELIMITER_NAMES[self.delimiter]}) : une valeur contient-elle le "
                            f"séparateur sans guillemets ?"
                        ),
                    ),
                )
            yield _result(line, values, default_organism, extra_errors)


# XLSX ------------------------------------------------------------------------------------------------


def _open_workbook(path: Path):
    try:
        with zipfile.ZipFile(path) as archive:
            if sum(info.file_size for info in archive.infolist()) > XLSX_MAX_EXPANSION * max_bytes():
                raise ImportFileError("Le classeur .xlsx est anormalement volumineux une fois décompressé : refusé.")
            damaged = archive.testzip()
        if damaged is not None:
            raise ImportFileError(f"Le classeur .xlsx est endommagé (partie « {damaged} ») : il ne peut pas être lu.")
        return load_workbook(path, read_only=True, data_only=True)
    except ImportFileError:
        raise
    except Exception as error:  # openpyxl and zipfile raise many kinds on a damaged or foreign zip
        raise ImportFileError(
            "Ce fichier n'est pas un classeur Excel .xlsx lisible (archive endommagée, ou autre document "
            "compressé) : ouvrez-le dans votre tableur et enregistrez-le à nouveau au format .xlsx ou CSV."
        ) from error


def _sheet_rows(path: Path) -> Iterator[tuple[int, tuple]]:
    """The non-blank rows of the first sheet, with their row number."""
    workbook = _open_workbook(path)
    try:
        if not workbook.worksheets:
            raise ImportFileError("Le classeur .xlsx ne contient aucune feuille.")
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some generators write wrong dimensions; read what is there
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if any(as_text(value) for value in values):
                yield number, values
    except ImportFileError:
        raise
    except Exception as error:
        raise ImportFileError(
            "Le classeur .xlsx est endommagé : sa première feuille ne peut pas être lue jusqu'au bout."
        ) from error
    finally:
        workbook.close()


class _XlsxFile:
    def __init__(self, path: Path, mapping: dict[str, str]):
        self.path = path
        rows = _sheet_rows(path)
        try:
            header_row = next(rows, None)
            if header_row is None:
                raise ImportFileError("Le classeur est vide : sa première feuille ne contient aucune ligne.")
            self.header = match_header([as_text(value) for value in header_row[1]], mapping)
            if next(rows, None) is None:
                raise ImportFileError("Le fichier ne contient aucune ligne : seulement la ligne d'en-tête.")
        finally:
            rows.close()

    def results(self, default_organism: str | None) -> Iterator[tuple[RowResult, tuple[str, str] | None]]:
        header = self.header
        rows = _sheet_rows(self.path)
        try:
            next(rows)  # the header row
            for number, values in rows:
                cells = {
                    name: Cell(header.labels[name], values[index] if index < len(values) else None)
                    for name, index in header.positions.items()
                }
                yield _result(number, cells, default_organism)
        finally:
            rows.close()


def _count_xlsx_rows(path: Path) -> int:
    """The sheet's declared dimension when it has one (cheap: an estimate, counting blank rows), else
    the non-blank rows counted one by one."""
    workbook = _open_workbook(path)
    try:
        declared = workbook.worksheets[0].max_row if workbook.worksheets else None
    except Exception:  # an unreadable dimension: count instead
        declared = None
    finally:
        workbook.close()
    if isinstance(declared, int) and declared > 1:
        return declared - 1
    count = -1  # the header
    for _ in _sheet_rows(path):
        count += 1
    return max(count, 0)


# Common ----------------------------------------------------------------------------------------------


def _result(
    line: int, cells: dict[str, Cell], default_organism: str | None, extra_errors: tuple[RowError, ...] = ()
) -> tuple[RowResult, tuple[str, str] | None]:
    record, errors = validate_row(line, cells, default_organism=default_organism, extra_errors=extra_errors)
    return RowResult(line=line, record=record, errors=errors), _key(cells, record, default_organism)


def _key(cells: dict[str, Cell], record, default_organism: str | None) -> tuple[str, str] | None:
    """The (organism, number) a row names, even when the row is refused for another reason."""
    if record is not None:
        return record.key
    number = as_text(cells["numero_allocataire"].value if "numero_allocataire" in cells else "").replace(" ", "")
    if not (number.isascii() and number.isdigit()) or len(number) > 13:
        return None
    organism_text = as_text(cells["organisme"].value) if "organisme" in cells else ""
    organism = parse_organism(organism_text) if organism_text else (default_organism or "caf")
    return (organism, number) if organism else None


def _refuse_duplicates(results: Iterator[tuple[RowResult, tuple[str, str] | None]], column: str):
    """The second and later rows naming the same organism and number are refused, naming the first."""
    # One compact entry per row (about 100 bytes): the number as an int, "1" in front keeping leading zeros.
    first_lines: dict[str, dict[int, int]] = {}
    for result, key in results:
        if key is None:
            yield result
            continue
        first = first_lines.setdefault(key[0], {}).setdefault(int("1" + key[1]), result.line)
        if first == result.line:
            yield result
            continue
        error = RowError(
            line=result.line,
            column=column,
            message=(
                f"Le numéro allocataire {key[1]} ({key[0].upper()}) figure déjà ligne {first} du fichier : "
                f"cette ligne est refusée. Gardez une seule ligne par allocataire."
            ),
            value=key[1],
        )
        yield RowResult(line=result.line, record=None, errors=(*result.errors, error))


def _open(path: Path, *, filename: str, mapping: dict[str, str] | None):
    path = Path(path)
    kind = detect_format(path, filename=filename)
    if kind == XML:
        return kind, check_flux(path)
    checked = check_mapping(mapping)
    if kind == XLSX:
        return kind, _XlsxFile(path, checked)
    return kind, _CsvFile(path, checked)


def read_import_file(
    path: Path,
    *,
    filename: str,
    mapping: dict[str, str] | None = None,
    default_organism: str | None = None,
) -> Iterator[RowResult]:
    """Check the file as a whole (raises ImportFileError now if it is refused), then return an iterator
    of one RowResult per data row, in file order. `filename` is the name the file was uploaded under (for
    its extension); `mapping` maps a normalised file header (normalise_header) to a canonical column name
    (or "" to ignore the column); `default_organism` ("caf"/"msa") applies to rows that name none."""
    if default_organism not in (None, *ORGANISM_VALUES):
        raise ValueError(f"default_organism must be 'caf' or 'msa', not {default_organism!r}")
    kind, source = _open(path, filename=filename, mapping=mapping)
    if kind == XML:
        return _refuse_duplicates(read_flux(Path(path), default_organism=default_organism), "MATRICULE")
    column = source.header.labels["numero_allocataire"]
    return _refuse_duplicates(source.results(default_organism), column)


def count_data_rows(path: Path, *, filename: str) -> int:
    """How many rows the file holds (for a progress bar): CSV records, sheet rows, XML foyers. Raises
    ImportFileError as read_import_file does, for a file refused as a whole (without a mapping, a
    required column it only has through a mapping is not checked here)."""
    path = Path(path)
    kind = detect_format(path, filename=filename)
    if kind == XML:
        return check_flux(path).foyers
    if kind == XLSX:
        return _count_xlsx_rows(path)
    encoding = detect_encoding(path)
    with path.open(encoding=encoding, newline="") as stream:
        delimiter = detect_delimiter(stream.read(SNIFF_CHARS))
        stream.seek(0)
        try:
            records = sum(1 for cells in csv.reader(stream, delimiter=delimiter) if any(c.strip() for c in cells))
        except csv.Error as error:
            raise ImportFileError(f"Le fichier CSV est mal formé ({error}).") from error
    return max(records - 1, 0)


def header_of(path: Path, *, filename: str) -> list[str]:
    """The header row of a CSV or .xlsx file as written (for the screen where the admin maps columns);
    [] for the XML flux, whose elements are fixed."""
    path = Path(path)
    kind = detect_format(path, filename=filename)
    if kind == XML:
        return []
    if kind == XLSX:
        rows = _sheet_rows(path)
        try:
            first = next(rows, None)
        finally:
            rows.close()
        return [as_text(value) for value in first[1]] if first else []
    encoding = detect_encoding(path)
    with path.open(encoding=encoding, newline="") as stream:
        sample = stream.read(SNIFF_CHARS)
    delimiter = detect_delimiter(sample)
    try:
        for cells in csv.reader(io.StringIO(sample), delimiter=delimiter):
            if any(cell.strip() for cell in cells):
                return [cell.strip() for cell in cells]
    except csv.Error as error:
        raise ImportFileError(f"Le fichier CSV est mal formé ({error}).") from error
    return []
