"""Named studies: documented grids of methods x datasets x conditions x seeds that
`run_bench.py --study NAME` expands into ordinary specs (their settings say the regime).

Each grid is sized to a few hours on 2 CPU cores with the quick profile (about 40 s per
run in the reference sweep). A study's clean reference point (no noise, the usual
training subsample) is the main reference sweep itself: the label-noise study reuses its
records for rate 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.errors import UserError, did_you_mean
from bench.planning import SweepRequest


@dataclass(frozen=True)
class Study:
    """A grid: every condition (TrainSettings overrides on `profile`) x methods x
    datasets x seeds."""

    name: str
    question: str
    methods: tuple[str, ...]
    datasets: tuple[str, ...]
    conditions: tuple[dict[str, Any], ...]
    seeds: tuple[int, ...] = (0, 1, 2)
    profile: str = "quick-fp32"  # the studies run before the bf16 quick profile
    note: str = ""

    @property
    def runs(self) -> int:
        return len(self.methods) * len(self.datasets) * len(self.conditions) * len(self.seeds)

    def requests(self, seeds: tuple[int, ...] = ()) -> list[SweepRequest]:
        """One sweep request per condition (seeds: the study's unless given)."""
        return [
            SweepRequest(
                methods=self.methods,
                datasets=self.datasets,
                seeds=seeds or self.seeds,
                profile=self.profile,
                overrides=dict(condition),
            )
            for condition in self.conditions
        ]


STUDIES: dict[str, Study] = {
    study.name: study
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
        ),
        Study(
            name="ood",
            question="does mixup make max-softmax better at flagging unseen classes?",
            methods=("none", "word", "tmix", "amplify"),
            datasets=("20ng",),
            conditions=({"ood_classes": 5},),
            note="20ng with 5 of 20 classes held out (Kong et al. 2020: 20NG-15 / 20NG-5)",
        ),
    )
}


def get_study(name: str) -> Study:
    if name not in STUDIES:
        raise UserError(
            f"unknown study {name!r}; known: {', '.join(STUDIES)}.{did_you_mean(name, STUDIES)}"
        )
    return STUDIES[name]
