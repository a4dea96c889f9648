import dataclasses

import pytest
import torch

from bench.api.method_api import options_as_items
from bench.api.registry import create_method
from bench.core.config import PROFILES, RunSpec, TrainSettings, profile_settings
from bench.core.errors import UserError


def spec(**changes) -> RunSpec:
    base = RunSpec(
        "tmix",
        "rt-polarity",
        "minilm-l6",
        0,
        PROFILES["smoke"],
        options_as_items(create_method("tmix").options),
    )
    return dataclasses.replace(base, **changes)


def test_hash_survives_a_dict_round_trip():
    assert spec().hash == spec().hash
    assert len(spec().hash) == 16
    assert RunSpec.from_dict(spec().to_dict()).hash == spec().hash


def test_golden_hash():
    # If this changes, every existing record is orphaned: bump SPEC_VERSION deliberately
    # instead of changing the hash by accident.
    settings = TrainSettings(
        epochs=2,
        batch_size=32,
        eval_batch_size=128,
        lr=5e-5,
        weight_decay=0.01,
        warmup_ratio=0.1,
        max_grad_norm=1.0,
        max_length=64,
        train_size=1000,
        val_size=300,
        test_size=500,
        pooling="mean",
        dropout=0.1,
        precision="fp32",
        batching="random",
        selection="best-val",
    )
    fixed = RunSpec("none", "rt-polarity", "minilm-l6", 0, settings)
    assert fixed.hash == GOLDEN


GOLDEN = "40df6bee09e17a0b"  # spec version 2 (common random numbers, selection)


@pytest.mark.parametrize(
    "change",
    [
        {"seed": 1},
        {"method": "word"},
        {"dataset": "r8"},
        {"model": "bert-base"},
        {"settings": dataclasses.replace(PROFILES["smoke"], lr=1e-4)},
        {"method_options": options_as_items(create_method("tmix", {"alpha": 16}).options)},
    ],
)
def test_anything_that_changes_a_result_changes_the_hash(change):
    assert spec(**change).hash != spec().hash


def test_round_trip_keeps_tuple_options():
    again = RunSpec.from_dict(spec().to_dict())
    assert again == spec()


def test_unknown_profile_suggests():
    with pytest.raises(UserError, match="Did you mean 'quick'"):
        profile_settings("quik")


@pytest.mark.parametrize(
    "field,value",
    [
        ("epochs", 0),
        ("lr", -1.0),
        ("batch_size", 0),
        ("train_size", 1),
        ("pooling", "max"),
        ("precision", "int8"),
    ],
)
def test_settings_validate_every_field(field, value):
    with pytest.raises(UserError, match=field if field != "pooling" else "pooling"):
        dataclasses.replace(TrainSettings(), **{field: value})


def test_one_registry_refuses_duplicates_checks_the_base_and_suggests():
    from bench.api.method_api import MixupMethod
    from bench.api.registry import method_class
    from bench.core.config import profile_settings
    from bench.core.errors import Registry
    from bench.core.studies import get_study
    from bench.run.datasets.registry import build_registry

    registry = Registry("widget", [("a", 1)])
    with pytest.raises(ValueError, match="already registered"):
        registry.add("a", 2)
    with pytest.raises(TypeError, match="subclass of MixupMethod"):
        Registry("method", base=MixupMethod).add("x", int)
    # every kind of name answers a typo the same way: one line, the known ones, a guess
    for lookup, typo, guess in (
        (profile_settings, "quik", "quick"),
        (get_study, "label-nose", "label-noise"),
        (method_class, "amplfy", "amplify"),
        (build_registry().get, "rt-polarty", "rt-polarity"),
    ):
        with pytest.raises(
            UserError, match=f"unknown .* {typo!r}; known: .*Did you mean '{guess}'"
        ):
            lookup(typo)


def test_flushing_subnormals_is_its_own_spec_and_is_undone_after_the_run():
    from bench.run.training import subnormals_for

    flushed = dataclasses.replace(PROFILES["smoke"], subnormals="flush")
    assert spec(settings=flushed).hash != spec().hash
    assert "subnormals" not in spec().to_dict()["settings"]  # old hashes stay as they were
    tiny = torch.tensor([1e-39])  # a subnormal float32
    with subnormals_for(flushed):
        assert (tiny * 1.0).item() == 0.0
    assert (tiny * 1.0).item() != 0.0
    with subnormals_for(PROFILES["smoke"]):
        assert (tiny * 1.0).item() != 0.0
