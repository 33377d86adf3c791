"""Helpers for the import reader tests: crafted files, written to a temporary folder."""

import datetime
from pathlib import Path

from django.utils import timezone
from openpyxl import Workbook

from imports.readers import read_import_file

FILES = Path(__file__).parent / "files"

HEADER = ["numero_allocataire", "nom", "prenom", "date_naissance", "statut_droits"]
VALID = ["1234567", "MARTIN", "Léa", "02/01/1980", "ouvert"]


def write_csv(folder: Path, rows: list[list[str]], *, name="import.csv", delimiter=";", encoding="utf-8") -> Path:
    path = folder / name
    text = "\r\n".join(delimiter.join(row) for row in rows) + "\r\n"
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(folder: Path, rows: list[list[object]], *, name="import.xlsx", blank_rows_before=0) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    for _ in range(blank_rows_before):
        sheet.append([])
    for row in rows:
        sheet.append(row)
    path = folder / name
    workbook.save(path)
    return path


def read(path: Path, **kwargs) -> list:
    return list(read_import_file(path, filename=kwargs.pop("filename", path.name), **kwargs))


def one_row(folder: Path, overrides: dict[str, str], *, extra_columns: dict[str, str] | None = None):
    """The result of reading a file with one valid row, some values replaced or columns added."""
    header = list(HEADER)
    row = list(VALID)
    for column, value in overrides.items():
        row[header.index(column)] = value
    for column, value in (extra_columns or {}).items():
        header.append(column)
        row.append(value)
    (result,) = read(write_csv(folder, [header, row]))
    return result


def today() -> datetime.date:
    return timezone.localdate()
