"""The export's ZIP: per table a CSV that opens cleanly in Excel and a JSON file with the same
rows, the photos in a folder, and はじめにお読みください.txt saying what each file is.

The CSV follows the rules of every export (shima.csvfile): UTF-8 with a BOM, RFC 4180 quoting
with CRLF, formula-leading text cells defused."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shima.csvfile import BOM, csv_text
from shima.timeutil import format_jst

if TYPE_CHECKING:
    from shima.domain.personal_data import ExportTable

README = "はじめにお読みください.txt"
# Columns whose codes the admin's audit vocabulary turns into words (export_zip's `labels`).
LABELLED = ("操作", "対象")


def csv_bytes(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> bytes:
    return csv_text(columns, ([r.get(c) for c in columns] for r in rows)).encode("utf-8")


def _labelled(rows: list[dict[str, Any]], labels: Mapping[str, str]) -> list[dict[str, Any]]:
    if not labels:
        return rows
    return [
        {k: labels.get(v, v) if k in LABELLED and isinstance(v, str) else v for k, v in r.items()}
        for r in rows
    ]


def _file_names(tables: Sequence[ExportTable]) -> list[str]:
    """`01_利用者`, `02_受信したイベント`, …: numbered in the parts' order (names kept unique)."""
    width = max(2, len(str(len(tables))))
    return [f"{i:0{width}d}_{t.name}" for i, t in enumerate(tables, start=1)]


def readme(
    owner: str, tables: Sequence[ExportTable], names: Sequence[str], made_at: datetime
) -> str:
    lines = [
        "島フリーランス LINE がお預かりしている個人データの写し",
        "",
        f"対象: {owner}",
        f"作成日時: {format_jst(made_at)}（日本時間）",
        "",
        "■ ファイルについて",
        "・表ごとに、同じ内容の CSV ファイルと JSON ファイルがあります。",
        "・CSV ファイルは Excel で開けます（文字コード UTF-8・BOM 付き）。"
        "「=」などで始まる文字は、数式として動かないよう先頭に「'」を付けています。",
        "・JSON ファイルは、ほかのシステムに読み込むときにお使いください。",
        "・日時はすべて日本時間です。",
        "・写真は「写真」フォルダにあります（表の「ファイル」の列がファイル名です）。",
        "・削除のお申し出により削除した項目は、空欄になっています。",
        "",
        "■ ファイルの一覧",
    ]
    for table, name in zip(tables, names, strict=True):
        about = f" — {table.about}" if table.about else ""
        lines.append(f"・{name}.csv / {name}.json（{len(table.rows)}件）{about}")
    photos = sum(len(t.files) for t in tables)
    if photos:
        lines.append(f"・写真フォルダ（{photos}枚）")
    lines += ["", "ご不明な点は、窓口までお問い合わせください。", ""]
    return "\r\n".join(lines)


def build(
    owner: str,
    tables: Sequence[ExportTable],
    *,
    made_at: datetime,
    labels: Mapping[str, str],
) -> bytes:
    names = _file_names(tables)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(README, (BOM + readme(owner, tables, names, made_at)).encode("utf-8"))
        for table, name in zip(tables, names, strict=True):
            rows = _labelled(table.rows, labels)
            columns = table.columns or (tuple(rows[0]) if rows else ())
            zf.writestr(f"{name}.csv", csv_bytes(columns, rows))
            zf.writestr(
                f"{name}.json",
                json.dumps(rows, ensure_ascii=False, indent=2).encode("utf-8"),
            )
            for path, data in table.files.items():
                # Photos are JPEG already: stored, not compressed again.
                zf.writestr(path, data, compress_type=zipfile.ZIP_STORED)
    return buffer.getvalue()
