"""Training settings, profiles and the RunSpec whose hash names every record."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal, get_args, get_origin, get_type_hints

from bench.core.errors import Registry, UserError
from bench.core.precision import Precision

SPEC_VERSION = 2  # bump when the meaning of a spec field changes
MIN_SPLIT_SIZE = 2  # the fewest examples a subsample size or a split may have
# 2: common random numbers (named streams per seed: bench.core.streams), `selection`


# what the head sees (the suite's: mean); the others for the head study and the authors'
# heads: [CLS], the encoder's [CLS] pooler as shipped or re-initialised N(0, 0.02), and the
# plain mean over every position of batches padded to max_length (AMPLIFY's published head)
Pooling = Literal["mean", "cls", "pooler", "pooler-reinit", "plain-mean"]
Batching = Literal["random", "length-grouped"]
Selection = Literal["best-val", "last"]
NoiseKind = Literal["symmetric", "pair"]
Optimizer = Literal["adamw", "adamw-fused"]  # the same AdamW; fused: one kernel
# the AMPLIFY authors' protocol, as settings (default: the suite's fair comparison)
LabelPartner = Literal["same", "independent"]
Head = Literal["shared", "published"]
# CPU speed settings that change numbers slightly (opt-in; the reference keeps the defaults)
Subnormals = Literal["keep", "flush"]
SELECTIONS, NOISE_KINDS, OPTIMIZERS = get_args(Selection), get_args(NoiseKind), get_args(Optimizer)


def flag(default: Any, help: str, metavar: str | None = None) -> Any:
    """A training setting with a command-line flag (--name-with-dashes); its help, and its
    choices from its Literal type, are written once, here (the CLI is generated)."""
    return field(default=default, metadata={"help": help, "metavar": metavar})


@cache
def choices() -> dict[str, tuple[str, ...]]:
    """The allowed values of every Literal-typed setting."""
    hints = get_type_hints(TrainSettings)
    out = {}
    for f in dataclasses.fields(TrainSettings):
        kind = hints[f.name]
        if get_origin(kind) is Literal:
            out[f.name] = get_args(kind)
        elif isinstance(kind, type) and issubclass(kind, enum.Enum):
            out[f.name] = tuple(member.value for member in kind)
    return out


def flagged_settings() -> list[dataclasses.Field]:
    """The settings that have a command-line flag, in declaration order."""
    return [f for f in dataclasses.fields(TrainSettings) if "help" in f.metadata]


# Data-regime fields (issue "beyond accuracy"), added after spec version 2: the canonical
# spec leaves them out while they hold their defaults, so every earlier spec keeps its hash.
REGIME_FIELDS = ("label_noise", "noise_kind", "per_class", "ood_classes", "input_noise")
# Every field added after spec version 2 is left out of the canonical spec at its default.
# the variance study's sources of randomness, each a seed of its own (default: the run's)
SOURCE_FIELDS = ("data_seed", "init_seed", "order_seed", "dropout_seed")
LATE_FIELDS = (*REGIME_FIELDS, "optimizer", "label_partner", "head", "subnormals", *SOURCE_FIELDS)
# how methods are listed in tables and --list (others follow alphabetically)
METHOD_ORDER = ("none", "word", "sentence", "tmix", "amplify", "manifold", "ssmix", "smooth")


@dataclass(frozen=True)
class TrainSettings:
    """Everything about training that changes a result, shared by every method."""

    epochs: int = flag(2, "epochs")
    batch_size: int = flag(32, "training batch size")
    eval_batch_size: int = 128
    lr: float = flag(1e-4, "peak learning rate")
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    max_length: int = flag(40, "tokens per example (longer ones are truncated)")
    train_size: int | None = flag(512, "stratified training subsample (the paper profile: all)")
    val_size: int | None = flag(200, "validation subsample")
    test_size: int | None = flag(400, "test subsample")
    pooling: Pooling = flag(
        "mean",
        "pooling before the head: masked mean, the first token ([CLS]), the encoder's [CLS] "
        "pooler as shipped or re-initialised N(0, 0.02), or plain-mean (every position of "
        "batches padded to --max-length, padding included)",
    )
    dropout: float = 0.1
    precision: Precision = flag(
        Precision.FP32,
        "autocast precision (fp16 adds a gradient scaler; the quick profile: bf16)",
    )
    batching: Batching = flag(
        "random", "training batches: random, or sorted by length within shuffled buckets"
    )
    selection: Selection = flag(
        "best-val", "which epoch is tested: best-val (best validation accuracy) or last"
    )
    label_noise: float = flag(
        0.0,
        "change this share of the training labels, in [0, 1) (from the data seed: the same "
        "labels for every method and seed; validation and test stay clean)",
        "RATE",
    )
    noise_kind: NoiseKind = flag(
        "symmetric", "symmetric: to a uniformly drawn other class; pair: class c to c+1"
    )
    per_class: int | None = flag(
        None,
        "train on N examples per class (stratified, from the data seed) instead of the "
        "profile's training subsample; exclusive with --train-size",
        "N",
    )
    ood_classes: int = flag(
        0,
        "hold K classes (from the data seed) out of training and validation and score how "
        "well max-softmax flags their test examples (AUROC, FPR95)",
        "K",
    )
    optimizer: Optimizer = flag(
        "adamw", "adamw, or adamw-fused (torch's one-kernel AdamW: faster, rounds differently)"
    )
    input_noise: float = flag(
        0.0,
        "replace this share of the training tokens by random vocabulary tokens, in [0, 1) "
        "(from the data seed; never [CLS]/[SEP]/padding; evaluation untouched)",
        "RATE",
    )

    label_partner: LabelPartner = flag(
        "same",
        "whose labels a mixed example learns: same (the partner whose inputs were mixed) or "
        "independent (a second permutation, as the AMPLIFY authors' baselines draw it)",
    )
    head: Head = flag(
        "shared",
        "shared (one pooling and head for every method) or published (the AMPLIFY authors' "
        "per-method head: the [CLS] pooler for word, sentence and TMix; for AMPLIFY the "
        "plain mean over every position of batches padded to --max-length)",
    )
    data_seed: int = flag(
        0,
        "which training subsample is drawn: 0 is the fixed data seed of every earlier record; "
        "1, 2, ... draw other stratified subsamples of the same size (validation and test "
        "subsamples stay fixed)",
        "K",
    )
    init_seed: int | None = flag(
        None, "seed of the head's initialisation stream (default: the run seed)", "S"
    )
    order_seed: int | None = flag(
        None, "seed of the data-order stream (default: the run seed)", "S"
    )
    dropout_seed: int | None = flag(None, "seed of the dropout stream (default: the run seed)", "S")
    subnormals: Subnormals = flag(
        "keep",
        "keep, or flush subnormal floats to zero on the CPU during training and evaluation "
        "(torch.set_flush_denormal): faster where AMPLIFY's near-1 lambdas make subnormal "
        "backward passes; changes numbers slightly, so its runs form their own block",
    )

    def __post_init__(self) -> None:
        checks = {  # name: (holds, what it must be)
            "epochs": (self.epochs >= 1, ">= 1"),
            "batch_size": (self.batch_size >= 1, ">= 1"),
            "eval_batch_size": (self.eval_batch_size >= 1, ">= 1"),
            "lr": (self.lr > 0, "> 0"),
            "weight_decay": (self.weight_decay >= 0, ">= 0"),
            "warmup_ratio": (0 <= self.warmup_ratio < 1, "in [0, 1)"),
            "max_grad_norm": (self.max_grad_norm > 0, "> 0"),
            "max_length": (self.max_length >= 8, ">= 8"),
            "dropout": (0 <= self.dropout < 1, "in [0, 1)"),
            "label_noise": (0 <= self.label_noise < 1, "a share of labels in [0, 1)"),
            "input_noise": (0 <= self.input_noise < 1, "a share of tokens in [0, 1)"),
            "per_class": (self.per_class is None or self.per_class >= 1, ">= 1"),
            "ood_classes": (self.ood_classes >= 0, ">= 0"),
            "data_seed": (self.data_seed >= 0, ">= 0"),
        }
        for name in SOURCE_FIELDS[1:]:
            value = getattr(self, name)
            checks[name] = (value is None or value >= 0, ">= 0")
        for size in ("train_size", "val_size", "test_size"):
            value = getattr(self, size)
            checks[size] = (value is None or value >= MIN_SPLIT_SIZE, f">= {MIN_SPLIT_SIZE}")
        if self.precision in choices()["precision"]:  # the type, not the text
            object.__setattr__(self, "precision", Precision(self.precision))
        for name, allowed in choices().items():
            if getattr(self, name) not in allowed:
                raise UserError(
                    f"invalid {name.replace('_', ' ')} {getattr(self, name)!r}: choose "
                    f"{' or '.join(allowed)}"
                )
        for name, (ok, rule) in checks.items():
            if not ok:
                raise UserError(
                    f"invalid training setting {name}={getattr(self, name)!r}: must be {rule}"
                )
        if self.noise_kind != "symmetric" and self.label_noise == 0:
            raise UserError(
                f"noise kind {self.noise_kind!r} without label noise: add --label-noise RATE"
            )
        if self.head == "published" and self.pooling != "mean":
            raise UserError(
                "--head published sets each method's pooling as its authors did: drop --pooling"
            )
        if self.per_class is not None and self.train_size is not None:
            raise UserError(
                "--per-class and --train-size are exclusive: a per-class budget replaces "
                "the training subsample (drop --train-size)"
            )

    def stream_seed(self, stream: str, run_seed: int) -> int:
        """The seed of a random stream: its own setting where the variance study sets one
        (init, order, dropout), else the run seed."""
        own = {"init": self.init_seed, "data_order": self.order_seed, "dropout": self.dropout_seed}
        value = own.get(stream)
        return run_seed if value is None else value

    def regime(self) -> dict[str, Any]:
        """The data-regime fields that differ from their defaults (empty: the clean,
        in-distribution setting of the main tables)."""
        return {
            name: getattr(self, name)
            for name in REGIME_FIELDS
            if getattr(self, name) != REGIME_DEFAULTS[name]
        }

    def canonical(self) -> dict[str, Any]:
        """The settings as a spec holds them: fields added after spec version 2 only where
        they differ from their defaults (so every earlier spec keeps its hash)."""
        data = dataclasses.asdict(self)
        for name in LATE_FIELDS:
            if data[name] == LATE_DEFAULTS[name]:
                del data[name]
        return data


LATE_DEFAULTS: dict[str, Any] = {
    f.name: f.default for f in dataclasses.fields(TrainSettings) if f.name in LATE_FIELDS
}
REGIME_DEFAULTS: dict[str, Any] = {name: LATE_DEFAULTS[name] for name in REGIME_FIELDS}


PROFILES: Registry[TrainSettings] = Registry(
    "profile",
    {
        # A few dozen examples, one epoch: the whole sweep in a few minutes on 2 CPU cores.
        "smoke": TrainSettings(
            epochs=1,
            batch_size=16,
            lr=5e-5,
            max_length=48,
            train_size=48,
            val_size=32,
            test_size=32,
        ),
        # Chosen for power (benchmarks/README.md, design study): 512 stratified training examples
        # seen 3 times in 96 steps of 16, the last epoch tested on up to 2000 examples; bf16
        # autocast and the fused AdamW, 1.73x faster end to end than fp32 on a CPU with AVX-512
        # BF16, and in agreement with it (benchmarks/README.md, "Precision").
        "quick": TrainSettings(
            epochs=3,
            batch_size=16,
            test_size=2000,
            selection="last",
            precision=Precision.BF16,
            optimizer="adamw-fused",
        ),
        # The same schedule in fp32 with the default AdamW: the quick profile until the bf16
        # change, the settings of the 5-seed fp32 reference and of the first studies, and the
        # choice for a CPU without bf16 instructions.
        "quick-fp32": TrainSettings(epochs=3, batch_size=16, test_size=2000, selection="last"),
        # The published fine-tuning setting: full data, lr 2e-5, batch 32, 10 epochs, length 256.
        "paper": TrainSettings(
            epochs=10,
            batch_size=32,
            lr=2e-5,
            max_length=256,
            train_size=None,
            val_size=None,
            test_size=None,
        ),
    }.items(),
)

PROFILE_SEEDS = {"smoke": [0], "quick": [0], "quick-fp32": [0], "paper": [0, 1, 2, 3, 4]}


def profile_settings(name: str, **overrides: Any) -> TrainSettings:
    """The settings of profile `name`, with the non-None `overrides` applied."""
    profile = PROFILES.lookup(name)
    changes = {k: v for k, v in overrides.items() if v is not None}
    return dataclasses.replace(profile, **changes)


@dataclass(frozen=True)
class RunSpec:
    """One run: everything that changes its result. Its hash names the record file."""

    method: str
    dataset: str
    model: str
    seed: int
    settings: TrainSettings
    method_options: tuple[tuple[str, Any], ...] = field(default=())
    version: int = SPEC_VERSION  # older records keep the version they were made with
    # the profile the request started from: a name for the report, not part of what the
    # spec is (left out of its hash and equality; settings say what ran)
    profile: str | None = field(default=None, compare=False)
    # the named study that made the run and its condition, as `--study` set them; like
    # the profile, a name for the report outside the hash ("": not a study's run)
    study: str = field(default="", compare=False)
    condition: str = field(default="", compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec_version": self.version,
            "method": self.method,
            "method_options": dict(self.method_options),
            "dataset": self.dataset,
            "model": self.model,
            "seed": self.seed,
            "settings": self.settings.canonical(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSpec:
        return cls(
            method=data["method"],
            dataset=data["dataset"],
            model=data["model"],
            seed=int(data["seed"]),
            settings=TrainSettings(**data["settings"]),
            method_options=tuple(
                sorted(
                    (k, tuple(v) if isinstance(v, list) else v)
                    for k, v in data.get("method_options", {}).items()
                )
            ),
            version=int(data.get("spec_version", 1)),
        )

    @property
    def hash(self) -> str:
        """Stable 16-hex-digit hash of the canonical JSON of the spec (same on any machine)."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        """Short human-readable name: dataset/method/seed."""
        return f"{self.dataset}/{self.method}/seed{self.seed}"
