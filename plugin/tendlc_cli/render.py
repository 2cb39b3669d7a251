"""Plain-text tables in kubectl's style: upper-case headers, columns padded, three spaces apart.

Pure string building, shared by `status`, `why` and the control commands; no colour, no terminal
control codes, so the output is the same in a pipe, a log and a golden file.
"""

from __future__ import annotations

from collections.abc import Sequence

GAP = "   "


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "") -> list[str]:
    """Aligned lines; the last column is not padded (no trailing blanks)."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = []
    for row in (headers, *rows):
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        lines.append((indent + GAP.join([*cells, row[-1]])).rstrip())
    return lines

