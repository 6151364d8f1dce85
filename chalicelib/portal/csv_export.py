"""CSV export of any table a page shows, the French way: ``;`` separators, decimal commas, UTF-8 BOM
(so a spreadsheet opened by double-click in France reads accents and numbers right)."""

from __future__ import annotations

import csv
import io
from typing import Any


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float):
        text = f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
        return text.replace(".", ",")
    text = str(value)
    if text[:1] in ("=", "+", "-", "@") and not _is_number(text):
        return "'" + text  # no formula injection into the merchant's spreadsheet
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def to_csv(table: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    columns = table["columns"]
    writer.writerow([c["label"] for c in columns])
    for row in table["rows"]:
        writer.writerow([cell(row.get(c["key"])) for c in columns])
    return "\ufeff" + out.getvalue()
