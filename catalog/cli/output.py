"""Print results for people (tables) and for programs (csv, json)."""

from __future__ import annotations

import json
import sys
from typing import TextIO

import pandas as pd
from tabulate import tabulate

FORMATS = ("table", "csv", "json")
MAX_CELL = 80


def _cell(value: object) -> object:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "NULL"
    text = str(value) if not isinstance(value, int | float) else value
    if isinstance(text, str) and len(text) > MAX_CELL:
        return text[: MAX_CELL - 1] + "…"
    return text


def print_frame(frame: pd.DataFrame, fmt: str = "table", out: TextIO = sys.stdout) -> None:
    if frame.columns.empty:
        if fmt == "table":
            print("OK", file=out)
        return
    if fmt == "csv":
        frame.to_csv(out, index=False)
    elif fmt == "json":
        out.write(frame.to_json(orient="records", date_format="iso", default_handler=str) + "\n")
    else:
        rows = [[_cell(v) for v in row] for row in frame.itertuples(index=False, name=None)]
        print(tabulate(rows, headers=list(frame.columns), tablefmt="psql", disable_numparse=True), file=out)
        count = len(frame)
        print(f"({count} row{'s' if count != 1 else ''})", file=out)


def print_lines(lines: list[str], out: TextIO = sys.stdout) -> None:
    for line in lines:
        print(line, file=out)


def print_json(value: object, out: TextIO = sys.stdout) -> None:
    print(json.dumps(value, indent=2, default=str), file=out)
