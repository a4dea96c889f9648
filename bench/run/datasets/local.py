"""Local dataset folders in the layout of the AMPLIFY code: DIR/NAME/{train,validation,test}.csv
with a text column and a label column (labels may be strings)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bench.core.errors import UserError
from bench.run.datasets.base import SPLITS, DatasetEntry, TextDataset, TextSplit, encode_labels

TEXT_COLUMNS = ("text", "sentence", "content")
LABEL_COLUMNS = ("label", "labels", "category", "class")
# labels that spreadsheet and pandas tools write for a missing value (lower case)
MISSING_LABELS = frozenset({"nan", "-nan", "na", "n/a", "<na>", "#n/a", "null", "none"})


def _pick(columns: list[str], candidates: tuple[str, ...], what: str, path: Path) -> str:
    for name in candidates:
        if name in columns:
            return name
    raise UserError(
        f"{path}: no {what} column (looked for {', '.join(candidates)}; "
        f"found {', '.join(repr(c) for c in columns) or 'none'}); rename the column"
    )


def _read_split(path: Path) -> tuple[list[str], list[str]]:
    if not path.is_file():
        raise UserError(
            f"{path}: missing split file; a local dataset needs "
            f"{', '.join(s + '.csv' for s in SPLITS)}"
        )
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text; re-save the file as UTF-8") from None
    except pd.errors.EmptyDataError:
        raise UserError(f"{path}: empty file; it needs a header row and examples") from None
    except pd.errors.ParserError as exc:
        raise UserError(f"{path}: not a valid CSV ({str(exc).splitlines()[0]})") from None
    columns = [str(c) for c in frame.columns]
    text_col = _pick(columns, TEXT_COLUMNS, "text", path)
    label_col = _pick(columns, LABEL_COLUMNS, "label", path)
    if frame.empty:
        raise UserError(f"{path}: no examples, only a header; add rows")
    texts = frame[text_col].tolist()
    labels = frame[label_col].str.strip().tolist()
    for what, values in (("label", labels), ("text", texts)):
        empty = [i for i, value in enumerate(values) if not value.strip()]
        if empty:
            rows = ", ".join(str(i + 2) for i in empty[:5])  # line 1 is the header
            more = f" and {len(empty) - 5} more" if len(empty) > 5 else ""
            raise UserError(
                f"{path}: empty {what} in row(s) {rows}{more} (line numbers of the file); "
                f"fill them in or delete those rows"
            )
    missing = [i for i, value in enumerate(labels) if value.lower() in MISSING_LABELS]
    if missing:
        rows = ", ".join(str(i + 2) for i in missing[:5])
        raise UserError(
            f"{path}: label {labels[missing[0]]!r} in row(s) {rows} reads as a missing value, "
            "not a class; fill in the label or delete those rows"
        )
    return texts, labels


def load_folder(folder: Path) -> TextDataset:
    """Read the three splits; labels are named by the sorted train labels."""
    raw = {split: _read_split(folder / f"{split}.csv") for split in SPLITS}
    names = sorted(
        set(raw["train"][1]),
        key=lambda x: (not x.lstrip("-").isdigit(), int(x) if x.lstrip("-").isdigit() else 0, x),
    )
    splits = {}
    for split, (texts, labels) in raw.items():
        unknown = sorted(set(labels) - set(names))
        if unknown:
            raise UserError(
                f"{folder / (split + '.csv')}: labels {unknown[:5]} do not occur "
                f"in train.csv; every label must appear in train"
            )
        encoded, _ = encode_labels(labels, names)
        splits[split] = TextSplit(texts, np.asarray(encoded))
    if len(names) < 2:
        raise UserError(f"{folder / 'train.csv'}: only {len(names)} label; need at least 2")
    return TextDataset(
        folder.name,
        splits["train"],
        splits["validation"],
        splits["test"],
        names,
        f"local folder {folder.name}/",
    )


def entries(data_dir: Path) -> list[DatasetEntry]:
    """One entry per sub-folder of `data_dir`."""
    if not data_dir.is_dir():
        raise UserError(f"--data-dir {data_dir}: not a folder")
    found = []
    for folder in sorted(p for p in data_dir.iterdir() if p.is_dir()):
        found.append(
            DatasetEntry(
                folder.name,
                "local",
                lambda f=folder: load_folder(f),
                lambda: None,
                None,
                f"local folder {folder}",
                "",
            )
        )
    return found
