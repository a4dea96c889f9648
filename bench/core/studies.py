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

from bench.core.config import RunSpec
from bench.core.errors import Registry

TRIAL_SEED_BASE = 1000  # a tuning trial's run seed: far from every study's seeds
CLEAN = "clean"  # the condition label of a study's reference cell (the main reference)
# (label, x for plots, series within a dataset) of one run's condition, from its spec
Labeller = Callable[[RunSpec], tuple[str, float, str]]
REFERENCE_PROFILE = "quick"
REFERENCE_MODEL = "minilm-l6"
# AMPLIFY's lambda in the strength study: the other methods' Beta(0.2, 0.2) (one draw, the
# max trick: what --lambda-mode matched gives it), and Beta(1, 1) with the max trick
AMPLIFY_MATCHED = {"alpha": 0.2, "draws": 1, "max_trick": True}
AMPLIFY_STRONG = {"alpha": 1.0, "draws": 1, "max_trick": True}


def _label_noise(spec: RunSpec) -> tuple[str, float, str]:
    s = spec.settings
    if not s.label_noise:
        return CLEAN, 0.0, ""
    return f"{s.noise_kind} {s.label_noise:g}", s.label_noise, s.noise_kind


def _per_class(spec: RunSpec) -> tuple[str, float, str]:
    s = spec.settings
    return f"{int(s.per_class)}/class, {int(s.epochs)} ep", float(s.per_class), ""


def _ood(spec: RunSpec) -> tuple[str, float, str]:
    classes = spec.settings.ood_classes
    return f"{int(classes)} held out", float(classes), ""


def _input_noise(spec: RunSpec) -> tuple[str, float, str]:
    s = spec.settings
    if not s.input_noise:
        return CLEAN, 0.0, "input noise"
    return f"input noise {s.input_noise:g}", s.input_noise, "input noise"


def _epochs(spec: RunSpec) -> tuple[str, float, str]:
    epochs = spec.settings.epochs
    if not spec.study:  # the borrowed reference cell
        return CLEAN, float(epochs), ""
    return f"{epochs} epochs", float(epochs), ""


def _train_size(spec: RunSpec) -> tuple[str, float, str]:
    size = spec.settings.train_size or 0
    if not spec.study:
        return CLEAN, float(size), ""
    return f"{size} examples", float(size), ""


def _strength(spec: RunSpec) -> tuple[str, float, str]:
    options = dict(spec.method_options)
    for variant in (AMPLIFY_MATCHED, AMPLIFY_STRONG):
        if spec.method == "amplify" and variant.items() <= options.items():
            alpha = variant["alpha"]
            return f"Beta({alpha:g}, {alpha:g}), max trick", float(alpha), ""
    return CLEAN, 0.0, ""


def _base_model(spec: RunSpec) -> tuple[str, float, str]:
    return spec.model, 0.0, ""


# the 2 x 2 of the AMPLIFY authors' protocol: (label partner, head) -> the cell's name
PROTOCOL_CELLS = {
    ("same", "shared"): CLEAN,  # the suite's protocol: the main reference
    ("independent", "shared"): "labels independent",
    ("same", "published"): "published head",
    ("independent", "published"): "published protocol",
}
PUBLISHED_BASELINES = ("word", "sentence", "tmix")


# the head study: what the classifier sees, as the run's effective pooling names it
HEAD_LABELS = {
    "mean": CLEAN,  # the suite's masked mean: the main reference
    "cls": "[CLS] linear",
    "pooler": "[CLS] pooler as shipped",
    "pooler-reinit": "[CLS] pooler re-initialised",
    "plain-mean": "plain mean, padded",
}


# the head the AMPLIFY authors' code gives each method, as the methods declare it
# (`published_head`; core cannot import them: tests/test_heads.py checks the two agree)
PUBLISHED_HEAD_OF = {
    "none": "pooler",
    "word": "pooler",
    "sentence": "pooler",
    "tmix": "pooler",
    "amplify": "plain-mean",
}


def effective_pooling(spec: RunSpec) -> str:
    """The pooling a run's head used: its setting, or under --head published the one the
    AMPLIFY authors' code gives its method."""
    if spec.settings.head == "shared":
        return spec.settings.pooling
    return PUBLISHED_HEAD_OF[spec.method]


def _head(spec: RunSpec) -> tuple[str, float, str]:
    pooling = effective_pooling(spec)
    return HEAD_LABELS[pooling], float(list(HEAD_LABELS).index(pooling)), ""


# the variance study: one source of randomness moved at a time, the others at seed 0
SOURCES = {
    "data_seed": "training subsample",
    "init_seed": "head initialisation",
    "order_seed": "data order",
    "dropout_seed": "dropout",
}
SOURCE_VALUES = (1, 2, 3, 4)  # with 0, the reference's run of seed 0: five draws a source


def _source(spec: RunSpec) -> tuple[str, float, str]:
    for name, source in SOURCES.items():
        value = getattr(spec.settings, name)
        if value not in (None, 0):
            return f"{source} {value}", float(value), source
    return CLEAN, 0.0, ""


def _tuned(spec: RunSpec) -> tuple[str, float, str]:
    if spec.seed >= TRIAL_SEED_BASE:
        return "trial", float(spec.seed - TRIAL_SEED_BASE), ""
    return "tuned", 0.0, ""


def _protocol(spec: RunSpec) -> tuple[str, float, str]:
    s = spec.settings
    label = PROTOCOL_CELLS[s.label_partner, s.head]
    return label, float(list(PROTOCOL_CELLS).index((s.label_partner, s.head))), ""


@dataclass(frozen=True)
class Study:
    """A grid: every condition (TrainSettings overrides on `profile`) x methods x
    datasets x seeds."""

    name: str
    question: str
    methods: tuple[str, ...]
    datasets: tuple[str, ...]
    conditions: tuple[dict[str, Any], ...]
    # what the report needs: the settings its conditions vary, a condition's label (from
    # the spec: a run knows its study), title and text
    varied: tuple[str, ...]
    label: Labeller
    title: str
    text: str
    seeds: tuple[int, ...] = (0, 1, 2)  # the planned seeds, declared before any look
    # seeds run beyond the plan, and when and why (after which look): the report shows
    # every result they touch beside the verdict at the planned seeds
    extra_seeds: tuple[int, ...] = ()
    extra_note: str = ""
    profile: str = "quick-fp32"  # the studies run before the bf16 quick profile
    note: str = ""
    curve: tuple[str, bool] | None = None  # accuracy against the condition: (x label, log x)
    borrows_clean: bool = False  # rate 0 is the main reference's cell
    baseline_in_every_cell: bool = False  # the reference's `none` is every cell's baseline
    noise: bool = False  # bears on the claim that mixing limits the influence of noise
    # its own cells are one more regime for the claims on accuracy, cost and calibration
    regime: bool = False
    # its conditions are this method's runs made another way: for those claims, each
    # condition replaces the method's runs in the reference (the other methods as they are)
    replaces: str | None = None
    model: str = REFERENCE_MODEL
    # its varied cells pooled are one more regime of Figure 1 (False: its cells answer
    # their own question and are not pooled across conditions)
    in_figure: bool = True
    # its cells are the 2 x 2 of the authors' protocol (bench.report.analyse.protocol)
    protocol_2x2: bool = False
    # its cells cross heads with methods (bench.report.analyse.heads)
    head_grid: bool = False
    # its cells move one source of randomness at a time (bench.report.analyse.variance)
    variance_sources: bool = False
    # with baseline_in_every_cell: a cell without its own `none` takes the `none` of the
    # cell named here (default: the clean cell of the main reference)
    baseline_from: tuple[tuple[str, str], ...] = ()
    # other studies whose records of the same specs fill this one's cells (a spec's record
    # is made once, by whichever study ran it first); only at this study's seeds
    borrows: tuple[str, ...] = ()
    # a tuning study (bench.tune): this many trials per method and dataset, drawn from
    # each method's search space at the seeds `trial_seeds`, selected on validation, and
    # the winner retrained at `seeds`; 0: a grid
    trials: int = 0
    # a condition may also hold "options": {method: {option: value}}, the methods' options
    # it runs with (typed values, as the record holds them)

    @property
    def runs(self) -> int:
        per_seed = sum(len(self.condition_methods(c)) for c in self.conditions)
        return per_seed * len(self.datasets) * (len(self.seeds) + self.trials)

    @property
    def trial_seeds(self) -> tuple[int, ...]:
        """The run seeds of a tuning study's trials: trial k of every method and dataset
        has seed TRIAL_SEED_BASE + k (the same data order, initialisation and dropout)."""
        return tuple(range(TRIAL_SEED_BASE, TRIAL_SEED_BASE + self.trials))

    def condition_methods(self, condition: dict[str, Any]) -> tuple[str, ...]:
        """The methods a condition runs: its own "methods", else the study's."""
        return tuple(condition.get("methods", self.methods))

    @staticmethod
    def overrides(condition: dict[str, Any]) -> dict[str, Any]:
        """The TrainSettings fields a condition sets."""
        return {k: v for k, v in condition.items() if k not in ("options", "methods")}

    @staticmethod
    def option_pairs(condition: dict[str, Any]) -> tuple[str, ...]:
        """The method options a condition sets, as --opt would say them (for --list)."""
        return tuple(
            f"{method}.{key}={value}"
            for method, values in condition.get("options", {}).items()
            for key, value in values.items()
        )

    def condition_texts(self) -> list[str]:
        """Each condition as flags would say it (for --list)."""
        texts = []
        for condition in self.conditions:
            parts = [f"{k}={v}" for k, v in self.overrides(condition).items()]
            parts += self.option_pairs(condition)
            if self.model != REFERENCE_MODEL:
                parts.insert(0, f"model={self.model}")
            if "methods" in condition:
                parts.append(f"methods {'/'.join(condition['methods'])}")
            texts.append(", ".join(parts))
        return texts


PAPER_METHODS = ("none", "word", "sentence", "tmix", "amplify")
ALL_DATASETS = ("rt-polarity", "rt-fine", "rt-subj", "amazon-cr", "r8", "r52", "20ng")
SEEDS_3, SEEDS_5, SEEDS_7 = (0, 1, 2), (0, 1, 2, 3, 4), (0, 1, 2, 3, 4, 5, 6)
LABEL_NOISE = tuple(
    {"label_noise": rate, "noise_kind": kind}
    for kind in ("symmetric", "pair")
    for rate in (0.2, 0.4)
)
# epochs shrink as the budget grows, so every budget trains a similar number of steps on a
# dataset (r8 has 37 and 97 examples in its two smallest classes)
BUDGETS = (
    {"per_class": 10, "epochs": 30},
    {"per_class": 30, "epochs": 10},
    {"per_class": 100, "epochs": 3},
)
STRENGTHS = ({"options": {"amplify": AMPLIFY_MATCHED}}, {"options": {"amplify": AMPLIFY_STRONG}})
PROTOCOL = (
    {"label_partner": "independent", "methods": PUBLISHED_BASELINES},
    {"head": "published"},  # none too: the authors' none is BertForSequenceClassification
    {"label_partner": "independent", "head": "published", "methods": PUBLISHED_BASELINES},
)
Q = "quick-fp32"  # the first studies ran before the bf16 quick profile
PROTOCOL_METHODS = ("none", *PUBLISHED_BASELINES, "amplify")

INPUT_NOISE = ({"input_noise": 0.1}, {"input_noise": 0.3})
LONGER, MORE_DATA, HELD_OUT = ({"epochs": 10},), ({"train_size": 2048},), ({"ood_classes": 5},)
# heads x methods: where the authors' code sets a method's head, the cell is that spec
# (--head published), so the published-protocol study's records fill it; the mean head is
# the main reference
HEAD_METHODS, POOLER_HEADS = ("none", "word", "sentence", "amplify"), ("none", "word", "sentence")
HEADS = (
    {"pooling": "cls"},
    {"head": "published", "methods": POOLER_HEADS},  # their [CLS] pooler, as shipped
    {"pooling": "pooler", "methods": ("amplify",)},
    {"pooling": "pooler-reinit"},
    {"pooling": "plain-mean", "methods": POOLER_HEADS},
    {"head": "published", "methods": ("amplify",)},  # AMPLIFY's plain mean, padded
)
HEAD_DATASETS = ("r52", "20ng", "r8", "rt-polarity")
VARIANCE = tuple({name: value} for name in SOURCES for value in SOURCE_VALUES)
NOISY_VARIANCE = ("rt-polarity", "r8", "20ng")  # a short-text, a Reuters and a noisy one
LADDER, NOISY = ("rt-subj", "r8", "r52"), ("rt-polarity", "rt-fine", "r8")
R = REFERENCE_PROFILE
# the tuned study's schedule: 10 epochs (320 steps), the epoch tested picked on validation
CONVERGED = ({"epochs": 10, "selection": "best-val"},)
TUNED_METHODS, TUNED_DATASETS = (
    ("none", "word", "sentence", "tmix", "amplify", "smooth"),
    (
        "r52",
        "20ng",
        "rt-polarity",
    ),
)

# The grids, one row each: methods, datasets, conditions, planned seeds, profile.
# fmt: off
GRIDS: dict[str, tuple] = {
    "label-noise":        (("none", "word", "amplify"), ("r8", "20ng"), LABEL_NOISE, SEEDS_3, Q),
    "low-resource":       (("none", "word", "amplify"), ("rt-polarity", "r8"), BUDGETS, SEEDS_3, Q),
    "input-noise":        (PAPER_METHODS, NOISY, INPUT_NOISE, SEEDS_5, R),
    "strength":           (("amplify",), ALL_DATASETS, STRENGTHS, SEEDS_7, R),
    "schedule":           (PAPER_METHODS, LADDER, LONGER, SEEDS_5, R),
    "data-size":          (PAPER_METHODS, LADDER, MORE_DATA, SEEDS_5, R),
    "base-model":         (PAPER_METHODS, ("rt-subj", "r8"), ({},), SEEDS_5, R),
    "published-protocol": (PROTOCOL_METHODS, ALL_DATASETS, PROTOCOL, SEEDS_7, R),
    "heads":              (HEAD_METHODS, HEAD_DATASETS, HEADS, SEEDS_5, R),
    "variance":           (("none", "word", "amplify"), NOISY_VARIANCE, VARIANCE, (0,), R),
    "ood":                (("none", "word", "tmix", "amplify"), ("20ng",), HELD_OUT, SEEDS_3, Q),
    "tuned":              (TUNED_METHODS, TUNED_DATASETS, CONVERGED, SEEDS_5, R),
}
# fmt: on


def study(name: str, **about: Any) -> Study:
    """A study: its row of GRIDS, and what the report says of it (`about`)."""
    methods, datasets, conditions, seeds, profile = GRIDS[name]
    return Study(
        name,
        about.pop("question"),
        methods,
        datasets,
        conditions,
        seeds=seeds,
        profile=profile,
        **about,
    )


# Each study's prose and report flags, beside its name (its grid is its row above).
STUDIES: Registry[Study] = Registry(
    "study",
    (
        (entry.name, entry)
        for entry in (
            study(
                "label-noise",
                question="does mixup keep accuracy when training labels are wrong?",
                extra_seeds=(3,),
                extra_note="seed 3 was added after the 3-seed report had been read (declared "
                "2026-12-07, when the report began to refuse undeclared looks): a second look",
                note="rate 0 is the main reference (same settings, clean labels)",
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
            study(
                "low-resource",
                question="does mixup help with a few labelled examples per class?",
                varied=("per_class", "epochs", "train_size"),
                label=_per_class,
                title="Low-resource budgets",
                text="N training examples per class (a stratified sample from the data seed; a "
                "class with fewer examples gives all it has), with more epochs for smaller budgets "
                "so that each budget trains a similar number of steps.",
                curve=("examples per class (trained 30, 10, 3 epochs at 10, 30, 100)", True),
                regime=True,
            ),
            study(
                "input-noise",
                question="does mixing inside attention limit the influence of noisy inputs?",
                note="rate 0 is the main (bf16) reference; the paper's methods; 150 runs",
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
            study(
                "strength",
                question="does AMPLIFY's mixing site help when it really mixes?",
                note="AMPLIFY's lambda as the other methods draw it, and stronger; none and "
                "AMPLIFY as published are the main (bf16) reference; 98 runs",
                varied=(),
                label=_strength,
                title="Mixing strength",
                text="AMPLIFY as published draws lambda as the max of 5 draws of Beta(0.1, "
                "0.1), so it barely mixes (lambda > 0.99 on most steps). Here it draws lambda "
                "as the other methods do (one draw of Beta(0.2, 0.2) with the max trick, what "
                "`--lambda-mode matched` gives it) and stronger (Beta(1, 1), max trick: lambda "
                "uniform on [0.5, 1]). Each cell compares AMPLIFY at that strength with `none` "
                "of the main reference; the *clean* cell is the reference itself (AMPLIFY as "
                "published).",
                borrows_clean=True,
                baseline_in_every_cell=True,
                replaces="amplify",
            ),
            study(
                "schedule",
                question="does mixup help when training is long enough to overfit?",
                note="10 epochs instead of 3; the 3-epoch cell is the main (bf16) reference; "
                "75 runs",
                varied=("epochs",),
                label=_epochs,
                title="Longer training",
                text="The quick profile's 512 training examples seen 10 times (320 steps) instead "
                "of 3 (96 steps): the model can fit its training set, where a regulariser should "
                "help. The *clean* cell is the main reference (3 epochs).",
                borrows_clean=True,
                regime=True,
            ),
            study(
                "data-size",
                question="does mixup help with four times the training data?",
                note="2048 training examples instead of 512 (3 epochs, 384 steps); the "
                "512-example cell is the main (bf16) reference; 75 runs",
                varied=("train_size",),
                label=_train_size,
                title="More training data",
                text="2048 stratified training examples instead of the quick profile's 512, "
                "3 epochs as there (384 steps instead of 96). The *clean* cell is the main "
                "reference (512 examples).",
                borrows_clean=True,
                regime=True,
            ),
            study(
                "base-model",
                question="does mixup help a 12-layer, 110M-parameter encoder?",
                extra_seeds=(5, 6),
                extra_note="seeds 5 and 6 were added after the 5-seed report had been read "
                "(its median MDE, 1.85 points, missed the goal of 1.0): a second look",
                model="mpnet-base",
                note="mpnet-base (all-mpnet-base-v2; `bash scripts/setup.sh --with mpnet-base`) "
                "at the quick profile; 50 runs",
                varied=(),
                label=_base_model,
                title="A base-size encoder",
                text="`mpnet-base` (all-mpnet-base-v2: 12 layers, hidden 768, 110M parameters) "
                "instead of the 6-layer MiniLM, at the quick profile. Every method mixes at "
                "the same points of its layers (tested on a tiny MPNet).",
                regime=True,
            ),
            study(
                "published-protocol",
                question="does AMPLIFY's published advantage come from the authors' protocol?",
                note="the authors' second label permutation and per-method heads, alone and "
                "together; the suite's cell is the main (bf16) reference; 539 runs (490 before "
                "2026-12-07, when `none` gained the authors' head: 49 runs)",
                varied=("label_partner", "head"),
                label=_protocol,
                title="The published protocol",
                text="The AMPLIFY authors' baselines (word, sentence, TMix) learn the labels of "
                "a second, independent permutation (`--label-partner independent`) and "
                "classify from BERT's [CLS] pooler, as does their `none` "
                "(BertForSequenceClassification), while AMPLIFY classifies from a plain "
                "mean over every position, padding included (`--head published`; the suite "
                "pads such batches to `--max-length`, 40 here, where the authors padded to "
                "256). Each cell of this 2 x 2 runs the baselines that way; AMPLIFY runs under "
                "its published head (its labels always follow its input partners, as in the "
                "authors' code). A cell's `none` has the cell's head: the published-head "
                "cells share the authors' `none`, the others the main reference's.",
                borrows_clean=True,
                baseline_in_every_cell=True,
                baseline_from=(("published protocol", PROTOCOL_CELLS["same", "published"]),),
                in_figure=False,
                protocol_2x2=True,
            ),
            study(
                "heads",
                question="what carries the published gain: AMPLIFY's head or AMPLIFY?",
                note="5 heads x none, word, sentence, AMPLIFY on r52, 20ng, r8, rt-polarity; "
                "the mean head is the main reference, the authors' heads the published-protocol "
                "study's records; 240 new runs",
                varied=("pooling", "head"),
                label=_head,
                title="Heads crossed with methods",
                text="The same four methods under five heads: the suite's masked mean, a linear "
                "layer on [CLS], the encoder's [CLS] pooler (dense + tanh) as the checkpoint "
                "ships it, that pooler re-initialised N(0, 0.02) (from its own random stream, "
                "so every other draw stays the seed's), and AMPLIFY's published plain mean over "
                "every position of batches padded to `--max-length`. Every method is compared "
                "with `none` under the same head. The packaged MiniLM's pooler is *untrained*: "
                "all-MiniLM-L6-v2 was trained for mean pooling, its pooler bias is exactly 0 and "
                "its weight has the spectrum of i.i.d. noise (the record's `pooler_weights`).",
                borrows_clean=True,
                borrows=("published-protocol",),
                in_figure=False,
                head_grid=True,
            ),
            study(
                "variance",
                question="which source of randomness moves a comparison most: the training "
                "subsample, the head's initialisation, the data order or dropout?",
                note="4 sources x 4 new draws (the fifth is the reference's seed 0) x none, "
                "word, AMPLIFY x rt-polarity, r8, 20ng; 144 runs",
                varied=tuple(SOURCES),
                label=_source,
                title="Where the variance comes from",
                text="Bouthillier et al. (2021): the variance of a benchmark's comparison has "
                "several sources, and seeds that move them all at once hide which one "
                "dominates. Each cell moves one source (`--data-seed`, `--init-seed`, "
                "`--order-seed`, `--dropout-seed` 1-4) and keeps the others at the reference's "
                "seed 0, whose run is the fifth draw of every source. Per source: the standard "
                "deviation over its five draws of each method's accuracy and of its paired "
                "difference to `none`.",
                borrows_clean=True,
                in_figure=False,
                variance_sources=True,
            ),
            study(
                "tuned",
                question="with equal tuning budgets in a converged schedule, does any mixup "
                "beat a tuned `none`?",
                note="12 trials per method and dataset (a seeded random search over each "
                "method's search space and the learning rate), 10 epochs with best-validation "
                "selection, the winner on validation retrained at seeds 0-4; 306 runs",
                varied=("lr",),
                label=_tuned,
                title="Every method at its best: equal tuning budgets",
                text="Melis et al. (2018), Dodge et al. (2019): a comparison at one default per "
                "method measures the defaults. Each method gets the same budget of trials, "
                "i.i.d. draws (Optuna's seeded RandomSampler) from the search space its module "
                "declares plus the learning rate (none and smooth too); trial k has the same "
                "run seed for every method. The trial with the best validation accuracy is "
                "retrained at seeds 0-4 and tested; test accuracy never enters the selection.",
                in_figure=False,
                trials=12,
            ),
            study(
                "ood",
                question="does mixup make max-softmax better at flagging unseen classes?",
                note="20ng with 5 of 20 classes held out (Kong et al. 2020: 20NG-15 / 20NG-5)",
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


def find_study(name: str) -> Study | None:
    """The study of a report block (None for a combination such as 'a+b')."""
    return STUDIES.get(name)
