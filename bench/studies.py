"""Named studies: documented grids of methods x datasets x conditions x seeds that
`run_bench.py --study NAME` expands into ordinary specs (their settings say the regime),
and everything the report needs to describe them. Each study is one entry here: its
grid, the settings its conditions vary, how a condition is labelled and drawn, its title
and text; no report code names a study.

Each grid is sized to a few hours on 2 CPU cores with the quick profile. A study's clean
reference point (no noise, the usual training subsample) is the main reference sweep
itself: the noise studies reuse its records for rate 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.errors import Registry

CLEAN = "clean"  # the condition label of a noise study's rate 0 (the main reference)
# (label, x for plots, series within a dataset) of one run's condition, from its settings
Labeller = Callable[[Any], tuple[str, float, str]]


def _label_noise(s: Any) -> tuple[str, float, str]:
    if not s.label_noise:
        return CLEAN, 0.0, ""
    return f"{s.noise_kind} {s.label_noise:g}", s.label_noise, s.noise_kind


def _per_class(s: Any) -> tuple[str, float, str]:
    return f"{int(s.per_class)}/class, {int(s.epochs)} ep", float(s.per_class), ""


def _ood(s: Any) -> tuple[str, float, str]:
    return f"{int(s.ood_classes)} held out", float(s.ood_classes), ""


def _input_noise(s: Any) -> tuple[str, float, str]:
    if not s.input_noise:
        return CLEAN, 0.0, "input noise"
    return f"input noise {s.input_noise:g}", s.input_noise, "input noise"


@dataclass(frozen=True)
class Study:
    """A grid: every condition (TrainSettings overrides on `profile`) x methods x
    datasets x seeds."""

    name: str
    question: str
    methods: tuple[str, ...]
    datasets: tuple[str, ...]
    conditions: tuple[dict[str, Any], ...]
    # what the report needs: the setting whose non-default value marks a record as this
    # study's, the settings its conditions vary, a condition's label, title and text
    marker: str
    varied: tuple[str, ...]
    label: Labeller
    title: str
    text: str
    seeds: tuple[int, ...] = (0, 1, 2)
    profile: str = "quick-fp32"  # the studies run before the bf16 quick profile
    note: str = ""
    curve: tuple[str, bool] | None = None  # accuracy against the condition: (x label, log x)
    borrows_clean: bool = False  # rate 0 is the main reference's cell
    noise: bool = False  # bears on the claim that mixing limits the influence of noise

    @property
    def runs(self) -> int:
        return len(self.methods) * len(self.datasets) * len(self.conditions) * len(self.seeds)


STUDIES: Registry[Study] = Registry(
    "study",
    (
        (study.name, study)
        for study in (
            Study(
                name="label-noise",
                question="does mixup keep accuracy when training labels are wrong?",
                methods=("none", "word", "amplify"),
                datasets=("r8", "20ng"),
                conditions=tuple(
                    {"label_noise": rate, "noise_kind": kind}
                    for kind in ("symmetric", "pair")
                    for rate in (0.2, 0.4)
                ),
                note="rate 0 is the main reference (same settings, clean labels)",
                marker="label_noise",
                varied=("label_noise", "noise_kind"),
                label=_label_noise,
                title="Label noise",
                text="A share `rate` of the training labels is changed: *symmetric* to a uniformly "
                "drawn other class, *pair* from class c to class c + 1. The changed labels come "
                "from the fixed data seed, so every method and seed trains on the same noisy "
                "labels; validation and test labels are clean. The *clean* cell is the main "
                "reference (the same settings without noise).",
                curve=("training-label noise rate", False),
                borrows_clean=True,
                noise=True,
            ),
            Study(
                name="low-resource",
                question="does mixup help with a few labelled examples per class?",
                methods=("none", "word", "amplify"),
                datasets=("rt-polarity", "r8"),
                # epochs shrink as the budget grows, so every budget trains a similar number
                # of steps on a dataset (r8 has 37 and 97 examples in its two smallest classes)
                conditions=(
                    {"per_class": 10, "epochs": 30},
                    {"per_class": 30, "epochs": 10},
                    {"per_class": 100, "epochs": 3},
                ),
                marker="per_class",
                varied=("per_class", "epochs", "train_size"),
                label=_per_class,
                title="Low-resource budgets",
                text="N training examples per class (a stratified sample from the data seed; a "
                "class with fewer examples gives all it has), with more epochs for smaller budgets "
                "so that each budget trains a similar number of steps.",
                curve=("examples per class (trained 30, 10, 3 epochs at 10, 30, 100)", True),
            ),
            Study(
                name="input-noise",
                question="does mixing inside attention limit the influence of noisy inputs?",
                methods=("none", "word", "sentence", "tmix", "amplify"),
                datasets=("rt-polarity", "rt-fine", "r8"),
                conditions=({"input_noise": 0.1}, {"input_noise": 0.3}),
                seeds=(0, 1, 2, 3, 4),
                profile="quick",
                note="rate 0 is the main (bf16) reference; the paper's methods; 150 runs",
                marker="input_noise",
                varied=("input_noise",),
                label=_input_noise,
                title="Input noise",
                text="A share `rate` of the training examples' tokens ([CLS], [SEP] and "
                "padding never) is replaced by random vocabulary tokens, the same ones for every "
                "method and seed (the fixed data seed); evaluation is untouched. It tests the "
                "paper's mechanism claim that mixing inside attention limits the influence of "
                "noisy samples. The *clean* cell is the main reference (the same settings "
                "without noise).",
                curve=("share of training tokens replaced", False),
                borrows_clean=True,
                noise=True,
            ),
            Study(
                name="ood",
                question="does mixup make max-softmax better at flagging unseen classes?",
                methods=("none", "word", "tmix", "amplify"),
                datasets=("20ng",),
                conditions=({"ood_classes": 5},),
                note="20ng with 5 of 20 classes held out (Kong et al. 2020: 20NG-15 / 20NG-5)",
                marker="ood_classes",
                varied=("ood_classes",),
                label=_ood,
                title="Out-of-distribution detection",
                text="K classes (drawn from the data seed) are held out of training and "
                "validation. *accuracy* is on the in-distribution test examples; *AUROC* and "
                "*FPR95* say how well the max-softmax probability tells in-distribution test "
                "examples (positive) from those of the held-out classes: FPR95 is the share of "
                "held-out examples accepted at the threshold that keeps 95% of in-distribution "
                "ones (lower is better).",
            ),
        )
    ),
)


def get_study(name: str) -> Study:
    return STUDIES.lookup(name)


def study_of_settings(settings: Any) -> str:
    """'' for the clean in-distribution regime of the main tables; else the study (or
    studies, joined by '+') whose marker setting the record's settings set."""
    regime = settings.regime()
    return "+".join(study.name for study in STUDIES.values() if study.marker in regime)


def find_study(name: str) -> Study | None:
    """The study of a report block (None for a combination such as 'a+b')."""
    return STUDIES.get(name)
