"""The run record: the one contract between running (harness, executors) and reporting.

The harness returns a `RunResult`; the driver wraps it in a `RunRecord` (spec, status,
error, provenance, method label) and the store writes it as JSON. Every record key is
spelled in this module only; everything else reads attributes. Records of schema 1 (the
result parts at the top level, no method label) are converted when read.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.core.config import SPEC_VERSION, RunSpec

SCHEMA_VERSION = 2
READABLE_SCHEMAS = (1, 2)


class RunStatus(str, enum.Enum):
    """How a run ended. LOST is reported by the driver but never written: the worker died,
    and the next sweep redoes the run."""

    OK = "ok"
    FAILED = "failed"
    DIVERGED = "diverged"
    OOM = "oom"
    LOST = "lost"

    def __str__(self) -> str:
        return self.value


FAILED_STATUSES = frozenset({RunStatus.FAILED, RunStatus.DIVERGED, RunStatus.OOM})


class UnreadableRecord(ValueError):
    """A record file that is not JSON of a known schema; the message says why."""


# ---------------------------------------------------------------- compact arrays


def encode_ints(values: np.ndarray) -> str:
    """Compact base64 of an int16 array (per-example predictions for paired tests)."""
    return base64.b64encode(np.asarray(values, dtype="<i2").tobytes()).decode()


def decode_ints(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<i2").astype(np.int64)


def encode_floats(values: np.ndarray) -> str:
    return base64.b64encode(np.asarray(values, dtype="<f2").tobytes()).decode()


def decode_floats(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f2").astype(np.float64)


# ---------------------------------------------------------------- the parts of a result


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in data.items() if k in names}


@dataclass(frozen=True)
class Scores:
    """Classification metrics of one split (fractions, NLL in nats)."""

    accuracy: float
    macro_f1: float
    nll: float
    ece: float


@dataclass(frozen=True)
class EpochPoint:
    epoch: int
    train_loss: float
    val_accuracy: float
    val_nll: float


@dataclass(frozen=True)
class OODScores:
    """Max-softmax detection of the held-out classes' test examples (in-distribution =
    positive): AUROC and the false-positive rate at 95% true-positive rate."""

    auroc: float
    fpr95: float
    in_distribution: int
    out_of_distribution: int


@dataclass(frozen=True)
class Metrics:
    test: Scores  # with held-out classes: of the in-distribution test examples
    validation: Scores  # of the tested epoch
    tested_epoch: int  # the tested epoch (1-based)
    curves: tuple[EpochPoint, ...]
    ood: OODScores | None = None  # only when classes were held out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Metrics:
        ood = data.get("ood")
        return cls(
            Scores(**_known(Scores, data["test"])),
            Scores(**_known(Scores, data["validation"])),
            int(data["tested_epoch"] if "tested_epoch" in data else data["best_epoch"]),
            tuple(EpochPoint(**_known(EpochPoint, p)) for p in data["curves"]),
            None if ood is None else OODScores(**_known(OODScores, ood)),
        )


@dataclass(frozen=True)
class Cost:
    """Training cost; train time excludes evaluation. `peak_memory_kind` says which memory
    `peak_memory_mb` is: cuda_max_allocated or cpu_rss."""

    train_seconds: float
    median_step_seconds: float
    steps: int
    examples_per_second: float
    peak_memory_mb: float
    peak_memory_kind: str
    peak_cpu_rss_mb: float | None = None
    peak_cuda_reserved_mb: float | None = None
    # bytes autograd saved for backward in the first training step (device-independent)
    activation_mb: float | None = None


@dataclass(frozen=True)
class Mixing:
    mean_one_minus_lambda: float
    share_mixing_steps: float | None = None  # steps with 1 - lambda > 0.01 (schema 2)


@dataclass(frozen=True)
class DataInfo:
    fingerprint: str
    source: str
    sizes: dict[str, int]
    num_labels: int  # the classes trained on (held-out ones excluded)
    label_names: list[str]
    held_out_classes: list[str] = field(default_factory=list)
    noisy_labels: int = 0  # training labels changed by the label-noise regime
    noise_fingerprint: str | None = None  # sha256 of the (index, new label) pairs
    revision: str | None = None  # hub datasets loaded from a non-default revision
    noisy_tokens: int = 0  # training tokens replaced by the input-noise regime
    input_noise_fingerprint: str | None = None  # sha256 of the (example, position, token)s


@dataclass(frozen=True)
class ModelInfo:
    name: str
    revision: str
    family: str
    depth: int
    parameters: int
    # the [CLS] pooler's weights where the run's head uses them (--head published, --pooling
    # pooler or pooler-reinit): "trained", "untrained" (in the checkpoint as initialised) or
    # "initialised" (fresh); None: the head does not use it. Records before 2026-12-07
    # say "checkpoint" for weights loaded from it, trained or not.
    pooler_weights: str | None = None
    pooler_evidence: str | None = None  # how pooler_weights was established


@dataclass(frozen=True)
class DeviceInfo:
    type: str
    name: str
    threads: int | None = None
    cpu_count: int | None = None
    compiled: bool = False
    bf16_fast: bool | None = None  # CPU: bf16 matrix instructions (AVX-512 BF16 / AMX)


@dataclass(frozen=True, eq=False)
class Predictions:
    """Per test example, in the test set's order: predicted class, label, confidence."""

    pred: np.ndarray
    label: np.ndarray
    confidence: np.ndarray

    @property
    def correct(self) -> np.ndarray:
        return self.pred == self.label

    def to_dict(self) -> dict[str, str]:
        return {
            "test_pred": encode_ints(self.pred),
            "test_label": encode_ints(self.label),
            "test_confidence": encode_floats(self.confidence),
        }

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Predictions:
        return cls(
            decode_ints(data["test_pred"]),
            decode_ints(data["test_label"]),
            decode_floats(data["test_confidence"]),
        )


@dataclass(frozen=True, eq=False)
class TrainOutcome:
    """What training and evaluation produce (the harness's trainer returns it)."""

    metrics: Metrics
    cost: Cost
    mixing: Mixing
    predictions: Predictions


@dataclass(frozen=True, eq=False)
class RunResult(TrainOutcome):
    """What the harness returns for one finished run: the training outcome and what the
    run knows of its data, model and device."""

    data: DataInfo
    model: ModelInfo
    device: DeviceInfo

    @classmethod
    def of(
        cls, trained: TrainOutcome, data: DataInfo, model: ModelInfo, device: DeviceInfo
    ) -> RunResult:
        parts = {f.name: getattr(trained, f.name) for f in dataclasses.fields(TrainOutcome)}
        return cls(**parts, data=data, model=model, device=device)

    def to_dict(self) -> dict[str, Any]:
        return {
            "metrics": dataclasses.asdict(self.metrics),
            "cost": dataclasses.asdict(self.cost),
            "mixing": dataclasses.asdict(self.mixing),
            "data": dataclasses.asdict(self.data),
            "model": dataclasses.asdict(self.model),
            "device": dataclasses.asdict(self.device),
            "predictions": self.predictions.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        return cls(
            metrics=Metrics.from_dict(data["metrics"]),
            cost=Cost(**_known(Cost, data["cost"])),
            mixing=Mixing(**_known(Mixing, data["mixing"])),
            data=DataInfo(**_known(DataInfo, data["data"])),
            model=ModelInfo(**_known(ModelInfo, data["model"])),
            device=DeviceInfo(**_known(DeviceInfo, data["device"])),
            predictions=Predictions.from_dict(data["predictions"]),
        )


@dataclass(frozen=True)
class Provenance:
    """Where and when a run was made. `command` and `git_commit` are the driver's;
    `worker_git_commit` is set when the machine that ran it had another commit."""

    packages: dict[str, str]
    git_commit: str
    started: str
    finished: str
    platform: str
    command: str | None = None
    worker_git_commit: str | None = None


# ---------------------------------------------------------------- the record


@dataclass(frozen=True, eq=False)
class RunRecord:
    """One run: what was asked (spec), how it ended, where it ran, and its result."""

    spec: RunSpec
    status: RunStatus
    provenance: Provenance
    method_label: str  # the method and its non-default options, e.g. tmix[alpha=16]
    result: RunResult | None = None
    error: str | None = None
    traceback: str | None = None
    schema_version: int = SCHEMA_VERSION
    spec_hash: str = ""  # the file's name; "" = the spec's hash (old specs keep theirs)
    extra: dict[str, Any] = field(default_factory=dict)  # unknown keys, kept on rewrite

    def __post_init__(self) -> None:
        if not self.spec_hash:
            object.__setattr__(self, "spec_hash", self.spec.hash)

    @property
    def ok(self) -> bool:
        return self.status is RunStatus.OK and self.result is not None

    def to_json(self) -> dict[str, Any]:
        return {
            **self.extra,
            "schema_version": SCHEMA_VERSION,
            "spec": self.spec.to_dict(),
            "spec_hash": self.spec_hash,
            "method_label": self.method_label,
            "profile": self.spec.profile,
            "study": self.spec.study,
            "condition": self.spec.condition,
            "status": self.status.value,
            "error": self.error,
            "traceback": self.traceback,
            "provenance": dataclasses.asdict(self.provenance),
            "result": None if self.result is None else self.result.to_dict(),
        }

    @classmethod
    def from_json(cls, data: Any) -> RunRecord:
        """A record from its JSON; schema 1 is converted. UnreadableRecord otherwise."""
        version = data.get("schema_version") if isinstance(data, dict) else None
        if version not in READABLE_SCHEMAS:
            raise UnreadableRecord(
                f"unknown schema version {version!r} (this suite reads "
                f"{', '.join(map(str, READABLE_SCHEMAS))})"
            )
        if version == 1:
            data = _from_schema_1(data)
        try:
            spec = dataclasses.replace(
                RunSpec.from_dict(data["spec"]),
                profile=data.get("profile"),
                study=data.get("study") or "",
                condition=data.get("condition") or "",
            )
            if spec.version > SPEC_VERSION:
                raise UnreadableRecord(
                    f"spec version {spec.version} is newer than this suite's {SPEC_VERSION}; "
                    "update the suite to read it"
                )
            result = data.get("result")
            known = set(cls._KEYS)
            return cls(
                spec=spec,
                status=RunStatus(data["status"]),
                provenance=Provenance(**_known(Provenance, data["provenance"])),
                method_label=data.get("method_label") or spec.method,
                result=None if result is None else RunResult.from_dict(result),
                error=data.get("error"),
                traceback=data.get("traceback"),
                schema_version=version,
                spec_hash=data.get("spec_hash") or "",
                extra={k: v for k, v in data.items() if k not in known},
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, UnreadableRecord):
                raise
            raise UnreadableRecord(f"malformed record ({type(exc).__name__}: {exc})") from None

    _KEYS = (
        "schema_version",
        "spec",
        "spec_hash",
        "method_label",
        "profile",
        "study",
        "condition",
        "status",
        "error",
        "traceback",
        "provenance",
        "result",
    )


_SCHEMA_1_RESULT_KEYS = ("metrics", "cost", "mixing", "data", "model", "device", "predictions")


def _from_schema_1(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 kept the result parts at the top level and a `profile` field (now read
    from the settings); it had no method label (its runs used the default options)."""
    out = {k: v for k, v in data.items() if k not in _SCHEMA_1_RESULT_KEYS and k != "profile"}
    if all(k in data for k in _SCHEMA_1_RESULT_KEYS):
        out["result"] = {k: data[k] for k in _SCHEMA_1_RESULT_KEYS}
    return out
