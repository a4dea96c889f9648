"""Tests that catch a wrong mixup implementation, not just a crash."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bench.api.method_api import MethodOptions, MixupMethod, Site, mix, mixed_loss, register
from bench.api.registry import create_method, method_class, method_names
from bench.core.config import TrainSettings
from bench.core.errors import UserError
from bench.run.harness import predict, train_and_evaluate
from methods.tmix import scale_layers
from tests.conftest import FAMILIES, separable_encoded, tiny_classifier, toy_batch

MIXING = [m for m in method_names() if method_class(m).mixes]
# methods that mix through the shared hooks (not their own training_step): the identities
# below hold for them exactly
HOOKED = [m for m in method_names() if method_class(m).training_step is MixupMethod.training_step]
HOOKED_MIXING = [m for m in HOOKED if m in MIXING]


class FixedRNG:
    """Stands in for the harness's generator: a fixed permutation (drawn at most once per
    step, so a second, independent label permutation would be caught) and real draws for
    everything else."""

    def __init__(self, perm, seed: int = 0):
        self.perm = np.asarray(perm)
        self.calls = 0
        self._rng = np.random.default_rng(seed)

    def permutation(self, n):
        self.calls += 1
        if self.calls > 1:
            raise AssertionError("a second permutation was drawn in one step")
        assert n == len(self.perm)
        return self.perm.copy()

    def __getattr__(self, name):
        return getattr(self._rng, name)


def step(method_name, model, batch, labels, perm, lam, seed=0, **options):
    method = create_method(method_name, options)
    method.sample_lambda = lambda rng: lam
    return method.training_step(model, batch, labels, FixedRNG(perm, seed))


def full_length_batch(batch_size=5, length=7, seed=0):
    batch, labels = toy_batch(batch_size, length, seed)
    batch["attention_mask"] = torch.ones_like(batch["attention_mask"])
    batch["input_ids"] = torch.randint(
        5, 60, batch["input_ids"].shape, generator=torch.Generator().manual_seed(seed)
    )
    return batch, labels


def plain(model, batch, labels):
    logits = model(**batch)
    return logits, F.cross_entropy(logits, labels)


# ---------------------------------------------------------------- identities


# every method that draws lambda, and word with each mask rule (its option changes the path)
LAMBDA_DRAWING = [m for m in MIXING if method_class(m).draws_lambda]
WITHOUT_A_PARTNER = [(m, {}) for m in LAMBDA_DRAWING] + [("word", {"union_mask": False})]


def parameter_grads(model):
    return {n: p.grad for n, p in model.named_parameters()}


@pytest.mark.parametrize(
    "name,options", WITHOUT_A_PARTNER, ids=[f"{m}{o or ''}" for m, o in WITHOUT_A_PARTNER]
)
@pytest.mark.parametrize("case", ["lambda-one", "identity-permutation"])
def test_a_step_without_a_partner_is_nones_step_bit_for_bit(name, options, case):
    """lambda == 1, or the identity permutation: loss, logits and every gradient equal
    `none`'s step exactly, in training mode (the same dropout draws), on a ragged batch
    (a union mask would let the method attend to padding `none` never sees)."""
    batch, labels = toy_batch()
    perm, lam = ([3, 0, 4, 1, 2], 1.0) if case == "lambda-one" else (np.arange(5), 0.7)
    reference, model = tiny_classifier().train(), tiny_classifier().train()
    torch.manual_seed(1)
    expected = create_method("none").training_step(
        reference, batch, labels, np.random.default_rng(0)
    )
    expected.loss.backward()
    torch.manual_seed(1)
    out = step(name, model, batch, labels, perm=perm, lam=lam, **options)
    out.loss.backward()
    assert torch.equal(out.logits, expected.logits)
    assert torch.equal(out.loss, expected.loss)
    expected_grads = parameter_grads(reference)
    for param_name, grad in parameter_grads(model).items():
        other = expected_grads[param_name]
        assert (grad is None and other is None) or torch.equal(grad, other), param_name


@pytest.mark.parametrize("name", MIXING)
def test_mixing_changes_the_forward(name):
    """The mixing hook must actually fire (no silent no-op)."""
    model = tiny_classifier().eval()
    batch, labels = full_length_batch()
    logits, _ = plain(model, batch, labels)
    out = step(name, model, batch, labels, perm=[3, 0, 4, 1, 2], lam=0.6)
    assert not torch.allclose(out.logits, logits, atol=1e-4)


# ---------------------------------------------------------------- mixing points


PERM = torch.tensor([2, 0, 1, 4, 3])
LAM = 0.7


def test_word_mixes_embeddings_output_with_union_mask():
    model = tiny_classifier().eval()
    batch, labels = toy_batch()
    h = model.encoder.embeddings(
        input_ids=batch["input_ids"], token_type_ids=batch["token_type_ids"]
    )
    first_layer_input, masks = [], []
    model.encoder.encoder.layer[0].register_forward_pre_hook(
        lambda m, a, kw: first_layer_input.append((a[0] if a else kw["hidden_states"]).clone()),
        with_kwargs=True,
    )
    model.encoder.register_forward_pre_hook(
        lambda m, a, kw: masks.append(kw["attention_mask"].clone()), with_kwargs=True
    )
    step("word", model, batch, labels, PERM.numpy(), LAM)
    torch.testing.assert_close(first_layer_input[0], LAM * h + (1 - LAM) * h[PERM])
    union = torch.maximum(batch["attention_mask"], batch["attention_mask"][PERM])
    assert torch.equal(masks[0], union)
    assert not torch.equal(union, batch["attention_mask"])  # the test batch is ragged


@pytest.mark.parametrize("layer", [1, 2, 3, 4])
def test_tmix_mixes_the_chosen_layer_output(layer):
    model = tiny_classifier().eval()
    batch, labels = toy_batch()
    hidden = model.encoder(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        token_type_ids=batch["token_type_ids"],
        output_hidden_states=True,
    ).hidden_states
    expected = LAM * hidden[layer] + (1 - LAM) * hidden[layer][PERM]
    method = create_method("tmix", {"layers": (12 * layer // 4,)})  # scales back to `layer`
    assert method.sites(4, np.random.default_rng(0)) == [Site("layer", layer)]
    method.sample_lambda = lambda rng: LAM
    got = []
    if layer < 4:
        nxt = model.encoder.encoder.layer[layer]
        nxt.register_forward_pre_hook(
            lambda m, a, kw: got.append((a[0] if a else kw["hidden_states"]).clone()),
            with_kwargs=True,
        )
    else:
        model.pooler.register_forward_pre_hook(lambda m, a: got.append(a[0].clone()))
    method.training_step(model, batch, labels, FixedRNG(PERM.numpy()))
    torch.testing.assert_close(got[0], expected)


def test_sentence_mixes_pooled_vector_and_equals_logit_mixing():
    model = tiny_classifier().eval()
    batch, labels = toy_batch()
    logits, _ = plain(model, batch, labels)
    out = step("sentence", model, batch, labels, PERM.numpy(), LAM)
    # a linear head: mixing the pooled vector == mixing the logits
    torch.testing.assert_close(out.logits, LAM * logits + (1 - LAM) * logits[PERM])


def manual_amplify_bert(model, batch, perm, lam, start=1):
    """An independent AMPLIFY forward for BERT, layer by layer, without hooks
    (full-length batch, so no attention mask is needed)."""
    enc = model.encoder
    h = enc.embeddings(input_ids=batch["input_ids"], token_type_ids=batch["token_type_ids"])
    attention_outputs = []
    for i, layer in enumerate(enc.encoder.layer, start=1):
        a = layer.attention(h)[0]
        if i >= start:
            a = lam * a + (1 - lam) * a[perm]
        attention_outputs.append(a)
        h = layer.feed_forward_chunk(a)
    pooled = h.mean(1)
    return model.head(pooled), attention_outputs


@pytest.mark.parametrize("start", [1, 3])
def test_amplify_mixes_every_attention_output_once_per_layer(start):
    model = tiny_classifier().eval()
    batch, labels = full_length_batch()
    expected_logits, expected_attn = manual_amplify_bert(model, batch, PERM, LAM, start)
    calls = {}
    for i, layer in enumerate(model.encoder.encoder.layer, start=1):
        layer.attention.register_forward_hook(
            lambda m, a, o, i=i: calls.__setitem__(i, calls.get(i, 0) + 1)
        )
    seen = {}
    for i, layer in enumerate(model.encoder.encoder.layer, start=1):
        layer.intermediate.register_forward_pre_hook(
            lambda m, a, i=i: seen.__setitem__(i, a[0].clone())
        )
    out = step("amplify", model, batch, labels, PERM.numpy(), LAM, start_layer=start)
    assert calls == {1: 1, 2: 1, 3: 1, 4: 1}
    for i in range(1, 5):
        torch.testing.assert_close(seen[i], expected_attn[i - 1])
    torch.testing.assert_close(out.logits, expected_logits)


def test_manifold_draws_every_depth_including_embeddings():
    method = create_method("manifold")
    rng = np.random.default_rng(0)
    drawn = {tuple(method.sites(4, rng)) for _ in range(300)}
    assert drawn == {(Site("embeddings"),)} | {(Site("layer", k),) for k in range(1, 5)}


def test_tmix_layer_scaling():
    assert scale_layers((7, 9, 12), 12) == [7, 9, 12]
    assert scale_layers((7, 9, 12), 6) == [4, 5, 6]
    assert scale_layers((7, 9, 12), 4) == [3, 4]


# ---------------------------------------------------------------- labels, masks, evaluation


@pytest.mark.parametrize("name", HOOKED_MIXING)
def test_labels_mixed_with_the_input_permutation(name):
    model = tiny_classifier().eval()
    batch, labels = toy_batch()
    out = step(name, model, batch, labels, PERM.numpy(), LAM)
    expected = LAM * F.cross_entropy(out.logits, labels) + (1 - LAM) * F.cross_entropy(
        out.logits, labels[PERM]
    )
    torch.testing.assert_close(out.loss, expected)
    torch.testing.assert_close(mixed_loss(out.logits, labels, PERM, LAM), expected)


@pytest.mark.parametrize("name", method_names())
def test_hooks_are_removed_after_each_step_and_evaluation_never_mixes(name):
    model = tiny_classifier()
    batch, labels = toy_batch()
    method = create_method(name)
    method.training_step(model, batch, labels, np.random.default_rng(0))
    assert all(not m._forward_hooks for m in model.modules())
    # evaluation equals a model that never trained with mixing: same weights, no hooks ever
    twin = tiny_classifier()
    twin.load_state_dict(model.state_dict())
    encoded = separable_encoded(8)
    settings = TrainSettings(eval_batch_size=3)
    evaluated, _ = predict(model, encoded, settings, 0, torch.device("cpu"))
    reference, _ = predict(twin, encoded, settings, 0, torch.device("cpu"))
    assert torch.equal(evaluated, reference)


def test_the_evaluation_check_catches_a_hook_left_behind():
    """The converse: a mixing hook that stayed installed changes what predict returns."""
    model, twin = tiny_classifier(), tiny_classifier()
    perm = torch.tensor([1, 2, 0])
    model.site_module(Site("embeddings")).register_forward_hook(
        lambda _m, _i, out: torch.lerp(out[perm], out, 0.5)
    )
    encoded = separable_encoded(9)
    settings = TrainSettings(eval_batch_size=3)
    left, _ = predict(model, encoded, settings, 0, torch.device("cpu"))
    clean, _ = predict(twin, encoded, settings, 0, torch.device("cpu"))
    assert not torch.equal(left, clean)


@pytest.mark.parametrize("name", MIXING)
def test_hooks_are_removed_when_the_forward_raises(name):
    model = tiny_classifier()
    batch, labels = toy_batch()
    model.head.register_forward_hook(lambda m, i, o: (_ for _ in ()).throw(RuntimeError("x")))
    with pytest.raises(RuntimeError, match="x"):
        create_method(name).training_step(model, batch, labels, np.random.default_rng(0))
    model.head._forward_hooks.clear()
    assert all(not m._forward_hooks for m in model.modules())


@pytest.mark.parametrize("name", method_names())
@pytest.mark.parametrize("batch_size", [1, 3])
def test_batch_of_one_and_odd_batches(name, batch_size):
    model = tiny_classifier()
    batch, labels = toy_batch(batch_size)
    out = create_method(name).training_step(model, batch, labels, np.random.default_rng(0))
    assert out.logits.shape == (batch_size, 3) and torch.isfinite(out.loss)


# ---------------------------------------------------------------- lambda


def test_default_lambda_distributions():
    rng = np.random.default_rng(0)
    amplify_method, word_method = create_method("amplify"), create_method("word")
    amplify = np.array([amplify_method.sample_lambda(rng) for _ in range(20000)])
    word = np.array([word_method.sample_lambda(rng) for _ in range(20000)])
    assert 0.95 < amplify.mean() < 0.975  # about 0.96
    assert 0.82 < (amplify > 0.99).mean() < 0.90  # about 86%
    assert 0.88 < word.mean() < 0.92 and word.min() >= 0.5  # about 0.90, max trick


def test_matched_lambda_options():
    """--lambda-mode matched: every lambda-drawing method gets Beta(alpha, alpha), one
    draw, the max trick (alpha from --alpha, else the default), whatever its defaults."""
    from bench.sweep.planning import SweepRequest, method_options

    methods = [m for m in MIXING if method_class(m).draws_lambda]
    for alpha in (None, 0.4):
        request = SweepRequest(methods=tuple(methods), lambda_mode="matched", alpha=alpha)
        options = method_options(request, methods)
        want = alpha or MethodOptions().alpha
        for method in methods:
            got = dict(options[method])
            assert (got["alpha"], got["draws"], got["max_trick"]) == (want, 1, True), method
            draws = [create_method(method, got).sample_lambda(np.random.default_rng(1))]
            assert draws == [
                create_method("word", {"alpha": want}).sample_lambda(np.random.default_rng(1))
            ]
    # amplify's own default (5 draws of Beta(0.1, 0.1)) differs: matched really changes it
    assert (
        dict(method_options(SweepRequest(methods=("amplify",)), ["amplify"])["amplify"])["draws"]
        == 5
    )


# ---------------------------------------------------------------- families and errors


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("kind", ["embeddings", "layer", "attention", "pooled"])
def test_every_family_exposes_every_mixing_point(family, kind):
    model = tiny_classifier(family).eval()
    batch, labels = toy_batch(token_types=family != "distilbert")
    logits, _ = plain(model, batch, labels)
    site = Site(kind, 2 if kind in ("layer", "attention") else 0)
    fired = []
    model.site_module(site).register_forward_hook(lambda m, i, o: fired.append(1))
    from bench.api.method_api import mixed_step

    out = mixed_step(model, batch, labels, PERM, LAM, [site])
    assert fired == [1]
    assert not torch.allclose(out.logits, logits, atol=1e-5)


def test_distilbert_attention_point_is_the_sa_layer_norm():
    model = tiny_classifier("distilbert")
    first_layer = model.encoder.transformer.layer[0]
    assert model.site_module(Site("attention", 1)) is first_layer.sa_layer_norm


def test_unsupported_family_names_family_and_point():
    from transformers import AlbertConfig, AlbertModel

    from bench.run.models import Classifier

    encoder = AlbertModel(
        AlbertConfig(
            vocab_size=64,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=64,
            embedding_size=16,
        )
    )
    model = Classifier(encoder, 2)
    with pytest.raises(UserError, match="albert.*not supported"):
        model.site_module(Site("attention", 1))
    # pooled mixing needs no family knowledge and still works
    assert model.site_module(Site("pooled")) is model.pooler


# ---------------------------------------------------------------- registry and options


def test_duplicate_registration_fails():
    with pytest.raises(ValueError, match="already registered"):

        @register
        class Impostor(method_class("word")):  # noqa: F811
            name = "word"


def test_unknown_method_lists_known_and_suggests():
    with pytest.raises(UserError, match="known: none, word.*Did you mean 'tmix'"):
        create_method("tmx")


def test_options_from_text():
    assert create_method("tmix", {"layers": "7,9"}).options.layers == (7, 9)
    assert create_method("amplify", {"max_trick": "true"}).options.max_trick is True
    with pytest.raises(UserError, match="has no option 'layer'; its options: alpha"):
        create_method("tmix", {"layer": "7"})
    with pytest.raises(UserError, match="not a valid"):
        create_method("amplify", {"start_layer": "x"})
    with pytest.raises(UserError, match="between 1 and 12"):
        create_method("tmix", {"layers": "13"})
    with pytest.raises(UserError, match="alpha"):
        create_method("word", {"alpha": "0"})


def test_mix_formula():
    h = torch.arange(6.0).reshape(3, 2)
    perm = torch.tensor([1, 2, 0])
    assert torch.equal(mix(h, perm, 0.25), 0.25 * h + 0.75 * h[perm])


# ---------------------------------------------------------------- contract over the registry


# parameters of the encoder that the suite's head never uses (BERT's own pooler: the
# suite pools the last hidden states itself); every other parameter must learn
UNUSED = {"encoder.pooler.dense.weight", "encoder.pooler.dense.bias"}


@pytest.mark.parametrize("name", method_names())
def test_contract_every_registered_method_trains(name):
    """As timm's backward test: after training, every used trainable parameter has a
    finite, non-zero gradient and has moved; the run's bookkeeping holds."""
    model = tiny_classifier(num_labels=2)
    initial = {n: p.detach().clone() for n, p in model.named_parameters()}
    data = {
        "train": separable_encoded(24),
        "validation": separable_encoded(8, 1),
        "test": separable_encoded(8, 2),
    }
    settings = TrainSettings(epochs=1, batch_size=8, lr=1e-3)
    result = train_and_evaluate(
        model, create_method(name), data, settings, 0, torch.device("cpu"), 0, 2
    )
    for param_name, param in model.named_parameters():
        if param_name in UNUSED or not param.requires_grad:
            continue
        assert param.grad is not None, f"{param_name} got no gradient"
        assert torch.isfinite(param.grad).all() and param.grad.abs().sum() > 0, param_name
        assert not torch.equal(param.detach(), initial[param_name]), f"{param_name} did not move"
    assert result.cost.steps == 3
    assert all(np.isfinite(c.train_loss) for c in result.metrics.curves)
    realised = result.mixing.mean_one_minus_lambda
    assert (realised == 0) if not method_class(name).mixes else (0 < realised <= 0.5)
    assert all(not m._forward_hooks for m in model.modules())


@pytest.mark.parametrize("epsilon", [0.1, 0.3])
def test_smooth_is_cross_entropy_against_label_smoothed_targets(epsilon):
    model = tiny_classifier().eval()
    batch, labels = toy_batch()
    out = create_method("smooth", {"epsilon": epsilon}).training_step(
        model, batch, labels, np.random.default_rng(0)
    )
    log_p = F.log_softmax(out.logits, -1)
    targets = torch.full_like(log_p, epsilon / 3)
    targets[torch.arange(5), labels] += 1 - epsilon  # 3 classes
    torch.testing.assert_close(out.loss, -(targets * log_p).sum(-1).mean())
    assert out.lam == 1.0


def test_smooth_at_epsilon_zero_is_none():
    model = tiny_classifier().eval()
    batch, labels = toy_batch()
    out = create_method("smooth", {"epsilon": 0.0}).training_step(
        model, batch, labels, np.random.default_rng(0)
    )
    logits, loss = plain(model, batch, labels)
    assert torch.equal(out.logits, logits) and torch.equal(out.loss, loss)
    with pytest.raises(UserError, match="epsilon"):
        create_method("smooth", {"epsilon": "1"})


def test_amplify_in_mpnet_mixes_what_feeds_the_feed_forward_block():
    """MPNet (mpnet-base's family): the attention module's output is what the layer's
    feed-forward block and residual read; mixing it there is AMPLIFY's point."""
    model = tiny_classifier("mpnet").eval()
    batch, labels = full_length_batch()
    batch.pop("token_type_ids", None)
    last = model.encoder.encoder.layer[-1]
    clean, mixed = [], []
    handle = last.intermediate.register_forward_pre_hook(lambda m, a: clean.append(a[0].clone()))
    model(**batch)
    handle.remove()
    last.intermediate.register_forward_pre_hook(lambda m, a: mixed.append(a[0].clone()))
    depth = model.depth
    step("amplify", model, batch, labels, PERM.numpy(), LAM, start_layer=depth)
    torch.testing.assert_close(mixed[0], LAM * clean[0] + (1 - LAM) * clean[0][PERM])


def test_mpnet_base_without_its_wheels_names_the_set_up_step(tmp_path, monkeypatch):
    import importlib.metadata

    from bench.run.models import resolve_model

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setenv("MIXUP_BENCH_CACHE", str(tmp_path))
    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(UserError, match="setup.sh --with mpnet-base"):
        resolve_model("mpnet-base")
