"""Bulk imports of the CAF/MSA monthly beneficiary files (issue 7, docs/imports.md).

- `records.py`: what a row becomes once read and checked (`ImportRecord`, `RowResult`, `RowError`);
  the interface between reading and writing.
- `readers.py`, `flux.py`, `columns.py`, `validation.py`: reading CSV / .xlsx / the XML flux, column
  matching and the row checks (no database write).
- `apply.py`: writing records in batches (creations, updates, closings, the changes recorded), the
  dry run; `casework/tasks.py` runs it in the background.
"""
