"""Hub datasets (what the paper and users with a network use), loaded with the real
`datasets.load_dataset` code. Offline they are listed as unavailable, with the reason."""

from __future__ import annotations

import dataclasses
import os
import socket
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from bench.core.errors import UserError
from bench.run.datasets.base import DatasetEntry, TextDataset, TextSplit, carve_validation


@dataclass(frozen=True)
class HubSource:
    """How one hub dataset maps onto train / validation / test."""

    name: str
    path: str
    config: str | None
    num_labels: int
    text_column: str = "text"
    label_column: str = "label"
    validation: str | None = "validation"  # None: carve from train
    test: str = "test"
    description: str = ""


HUB_SOURCES = [
    # GLUE hides the SST-2 test labels: validation is the test set, a seeded 10% of train
    # is the validation set.
    HubSource(
        "sst2",
        "nyu-mll/glue",  # formerly "glue" (the hub moved it under an organisation)
        "sst2",
        2,
        text_column="sentence",
        validation=None,
        test="validation",
        description="SST-2 (GLUE)",
    ),
    HubSource("sst5", "SetFit/sst5", None, 5, description="SST-5"),
    HubSource(
        "trec6",
        "CogComp/trec",
        None,
        6,
        label_column="coarse_label",
        validation=None,
        description="TREC, 6 coarse classes",
    ),
    HubSource(
        "trec50",
        "CogComp/trec",
        None,
        50,
        label_column="fine_label",
        validation=None,
        description="TREC, 50 fine classes",
    ),
    HubSource(
        "mr",
        "cornell-movie-review-data/rotten_tomatoes",
        None,
        2,
        description="Movie Review polarity",
    ),
    HubSource("subj", "SetFit/subj", None, 2, validation=None, description="SUBJ"),
    HubSource("cr", "SetFit/CR", None, 2, validation=None, description="Customer Reviews"),
    HubSource("agnews", "fancyzhx/ag_news", None, 4, validation=None, description="AG News"),
    HubSource("imdb", "stanfordnlp/imdb", None, 2, validation=None, description="IMDB"),
]


def _split_to_text(split: Any, source: HubSource) -> tuple[list[str], list]:
    columns = split.column_names
    for column in (source.text_column, source.label_column):
        if column not in columns:
            raise ValueError(f"{source.path}: column {column!r} missing (columns: {columns})")
    return list(split[source.text_column]), list(split[source.label_column])


def convert(dataset_dict: Any, source: HubSource) -> TextDataset:
    """A `datasets.DatasetDict` in the hub layout of `source` -> a TextDataset."""
    train_texts, train_raw = _split_to_text(dataset_dict["train"], source)
    test_texts, test_raw = _split_to_text(dataset_dict[source.test], source)
    names = [str(i) for i in range(source.num_labels)]
    feature = dataset_dict["train"].features.get(source.label_column)
    if getattr(feature, "names", None):
        names = list(feature.names)
    train = TextSplit(train_texts, np.asarray(train_raw, dtype=np.int64))
    test = TextSplit(test_texts, np.asarray(test_raw, dtype=np.int64))
    if source.validation is None:
        train, validation = carve_validation(train)
    else:
        texts, raw = _split_to_text(dataset_dict[source.validation], source)
        validation = TextSplit(texts, np.asarray(raw, dtype=np.int64))
    for split in (train, validation, test):
        if len(split) and (split.labels.min() < 0 or split.labels.max() >= source.num_labels):
            raise ValueError(f"{source.path}: labels outside 0..{source.num_labels - 1}")
    config = f", config {source.config}" if source.config else ""
    return TextDataset(source.name, train, validation, test, names, f"hub: {source.path}{config}")


@cache
def hub_reachable(timeout: float = 3.0) -> str | None:
    """None when the Hugging Face hub answers (or offline mode is set), else the reason."""
    if os.environ.get("HF_DATASETS_OFFLINE") == "1" or os.environ.get("HF_HUB_OFFLINE") == "1":
        return None  # the user says the cache has it; loading will tell otherwise
    try:
        socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
    except OSError as exc:
        return f"hub unreachable ({exc.__class__.__name__}); needs a network"
    return None


PARQUET_REVISION = "refs/convert/parquet"  # the hub's automatic parquet conversion
SCRIPT_REFUSAL = "Dataset scripts are no longer supported"  # datasets >= 4
LOCAL_COPY_HINT = (
    "or use a local copy: --data-dir DIR with DIR/{name}/{{train,validation,test}}.csv "
    "(README: 'Hub datasets without a network')"
)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def load_from_hub(source: HubSource, load_dataset: Any) -> TextDataset:
    """`load_dataset` on the source; a repository that still carries a loading script
    (refused by `datasets` >= 4) is retried once from its parquet conversion. The dataset
    says which revision it came from. A second failure is one line naming both tries."""
    args = (source.path, source.config) if source.config else (source.path,)
    try:
        return convert(load_dataset(*args), source)
    except Exception as exc:  # noqa: BLE001 - only the script refusal is retried
        if SCRIPT_REFUSAL not in str(exc):
            raise
        refusal = exc
    try:
        loaded = load_dataset(*args, revision=PARQUET_REVISION)
    except Exception as exc:  # noqa: BLE001 - reported as one line with the fix
        raise UserError(
            f"dataset {source.name!r} ({source.path}): the hub refused its loading script "
            f"({_first_line(refusal)}) and its parquet conversion ({PARQUET_REVISION}) "
            f"failed too ({_first_line(exc)}); " + LOCAL_COPY_HINT.format(name=source.name)
        ) from None
    dataset = convert(loaded, source)
    return dataclasses.replace(
        dataset, source=f"{dataset.source}, revision {PARQUET_REVISION}", revision=PARQUET_REVISION
    )


def _loader(source: HubSource):
    def load() -> TextDataset:
        import datasets

        return load_from_hub(source, datasets.load_dataset)

    return load


def entries() -> list[DatasetEntry]:
    return [
        DatasetEntry(
            s.name, "hub", _loader(s), hub_reachable, s.num_labels, s.description, s.description
        )
        for s in HUB_SOURCES
    ]
