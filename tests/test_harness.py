"""The shared training loop: it learns, it is deterministic, its schedule and failures."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
import torch

from bench.api.method_api import StepOutput
from bench.api.registry import create_method
from bench.core.config import TrainSettings
from bench.core.records import Scores
from bench.run.harness import EpochSelector, train_and_evaluate
from bench.run.training import Diverged, build_optimizer
from tests.conftest import separable_encoded, tiny_classifier

SETTINGS = TrainSettings(epochs=4, batch_size=16, lr=2e-3, warmup_ratio=0.1)


def data(n=96):
    return {
        "train": separable_encoded(n, 0),
        "validation": separable_encoded(32, 1),
        "test": separable_encoded(48, 2),
    }


def train(method="none", seed=0, settings=SETTINGS):
    model = tiny_classifier(num_labels=2, seed=seed)
    torch.manual_seed(seed)
    return train_and_evaluate(
        model, create_method(method), data(), settings, seed, torch.device("cpu"), 0, 2
    )


def test_training_reduces_the_loss_and_learns_a_separable_set():
    result = train()
    curves = result.metrics.curves
    assert curves[-1].train_loss < 0.5 * curves[0].train_loss
    assert result.metrics.test.accuracy >= 0.9


def test_same_seed_same_numbers_different_seed_different_numbers():
    a, b, c = train(seed=3), train(seed=3), train(seed=4)
    assert a.metrics == b.metrics
    assert np.array_equal(a.predictions.pred, b.predictions.pred)
    assert a.metrics.curves != c.metrics.curves


@pytest.mark.parametrize("selection,tested", [("best-val", 2), ("last", 3)])
def test_the_tested_epoch_and_its_weights_follow_the_selection(selection, tested):
    """Validation accuracy 0.5, 0.8, 0.7 over three epochs: best-val tests epoch 2 (with
    its weights restored), last tests epoch 3."""
    model = torch.nn.Linear(1, 1)
    selector = EpochSelector(selection, 3)
    for epoch, accuracy in enumerate([0.5, 0.8, 0.7], start=1):
        with torch.no_grad():
            model.weight.fill_(epoch)
        selector.offer(epoch, Scores(accuracy, accuracy, 0.5, 0.1), model)
    selector.restore(model)
    assert selector.epoch == tested
    assert selector.validation is not None
    assert selector.validation.accuracy == [0.5, 0.8, 0.7][tested - 1]
    assert model.weight.item() == tested


def test_the_record_names_the_tested_epoch():
    result = train()
    curves = result.metrics.curves
    best = max(range(len(curves)), key=lambda i: (curves[i].val_accuracy, -i))
    assert result.metrics.tested_epoch == best + 1
    assert result.metrics.validation.accuracy == curves[best].val_accuracy


def test_cost_is_recorded_and_labelled():
    cost = train(settings=TrainSettings(epochs=1, batch_size=16)).cost
    assert cost.steps == 6
    assert cost.train_seconds > 0 and cost.median_step_seconds > 0
    assert cost.examples_per_second == pytest.approx(96 / cost.train_seconds)
    assert cost.peak_memory_kind == "cpu_rss" and cost.peak_memory_mb > 10


def test_linear_schedule_uses_the_total_step_count():
    model = torch.nn.Linear(2, 2)
    settings = TrainSettings(lr=1.0, warmup_ratio=0.1)
    optimizer, scheduler = build_optimizer(model, settings, total_steps=100)
    lrs = []
    for _ in range(100):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs[0] < lrs[5] < lrs[10] == pytest.approx(1.0)  # warmup over 10 steps
    assert all(x >= y for x, y in zip(lrs[10:], lrs[11:], strict=False))  # monotone decay
    assert lrs[-1] == pytest.approx(1 / 90)  # one step from 0 at the last step


def test_nan_loss_is_detected_within_the_step():
    method = create_method("none")

    def nan_step(model, batch, labels, rng):
        logits = model(**batch)
        return StepOutput(logits.sum() * float("nan"), logits, 1.0)

    method.training_step = nan_step
    with pytest.raises(Diverged, match="nan"):
        train_and_evaluate(
            tiny_classifier(num_labels=2), method, data(), SETTINGS, 0, torch.device("cpu"), 0, 2
        )


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_reduced_precision_is_wired_on_cpu(precision):
    settings = TrainSettings(epochs=1, batch_size=16, lr=2e-3, precision=precision)
    model = tiny_classifier(num_labels=2)
    from bench.run.training import Trainer

    trainer = Trainer(model, create_method("amplify"), settings, torch.device("cpu"), 10)
    assert trainer.scaler.is_enabled() == (precision == "fp16")  # a scaler for fp16 only
    enc = separable_encoded(16)
    from bench.run.batching import collate

    batch, labels = collate(enc, np.arange(16), 0, torch.device("cpu"))
    out = trainer.step(batch, labels, np.random.default_rng(0))
    expected = torch.bfloat16 if precision == "bf16" else torch.float16
    assert out.logits.dtype == expected  # the forward ran under autocast
    assert torch.isfinite(out.loss)
    assert all(p.dtype == torch.float32 for p in model.parameters())  # master weights fp32


class AutocastSpy:
    """A method wrapper that records whether autocast was on during its training step."""

    def __init__(self, inner):
        self.inner, self.seen = inner, []

    def training_step(self, model, batch, labels, rng):
        self.seen.append((torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu")))
        return self.inner.training_step(model, batch, labels, rng)


@pytest.mark.parametrize(
    "precision,autocast", [("fp32", None), ("bf16", torch.bfloat16), ("fp16", torch.float16)]
)
def test_autocast_is_on_exactly_for_reduced_precision(precision, autocast):
    from bench.run.batching import collate
    from bench.run.training import Trainer

    spy = AutocastSpy(create_method("none"))
    settings = TrainSettings(precision=precision)
    trainer = Trainer(tiny_classifier(num_labels=2), spy, settings, torch.device("cpu"), 10)
    batch, labels = collate(separable_encoded(8), np.arange(8), 0, torch.device("cpu"))
    out = trainer.step(batch, labels, np.random.default_rng(0))
    enabled, dtype = spy.seen[0]
    assert enabled == (autocast is not None)
    if autocast is not None:
        assert dtype == autocast
    else:
        assert out.logits.dtype == torch.float32
    assert trainer.scaler.is_enabled() == (precision == "fp16")


def test_remote_code_is_off_unless_asked(monkeypatch):
    import types

    import transformers

    from bench.run.models import ResolvedModel, load_backbone

    seen = []

    def fake(location, **kwargs):
        seen.append(kwargs["trust_remote_code"])
        loaded = types.SimpleNamespace()
        return (loaded, {"missing_keys": []}) if kwargs.get("output_loading_info") else loaded

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", fake)
    monkeypatch.setattr(transformers.AutoModel, "from_pretrained", fake)
    load_backbone(ResolvedModel("x", "x", "x"))
    load_backbone(ResolvedModel("x", "x", "x"), trust_remote_code=True)
    assert seen == [False, False, True, True]


@pytest.mark.parametrize("family", ["bert", "distilbert"])
def test_compile_leaves_mixing_points_eager_and_never_recompiles_for_new_mixes(family):
    """--compile compiles only hook-free blocks, so mixing hooks that change every step
    neither recompile them nor get skipped: compiled and eager forwards agree, mixes
    included. A counting backend sees each block compiled once for a fixed shape."""
    from bench.api.method_api import Site, mixed_step
    from tests.conftest import toy_batch

    eager, compiled = tiny_classifier(family), tiny_classifier(family)
    eager.eval(), compiled.eval()
    graphs: list[int] = []

    def counting_backend(gm, example_inputs):
        graphs.append(1)
        return gm.forward

    names = compiled.compile_blocks(backend=counting_backend, dynamic=False)
    hooked = {id(m) for m in compiled.hook_points()}
    modules = dict(compiled.named_modules())
    assert names and all(id(modules[name]) not in hooked for name in names)

    batch, labels = toy_batch(token_types=family != "distilbert")
    sites = [Site("embeddings")] + [Site("attention", i) for i in range(1, 5)]
    sites += [Site("layer", 2)]
    compiled_once = None
    for step in range(4):
        perm = torch.randperm(len(labels), generator=torch.Generator().manual_seed(step))
        lam = 0.9 - 0.1 * step
        want = mixed_step(eager, batch, labels, perm, lam, sites)
        got = mixed_step(compiled, batch, labels, perm, lam, sites)
        torch.testing.assert_close(got.logits, want.logits)
        if compiled_once is None:
            compiled_once = len(graphs)
            assert compiled_once >= 1  # blocks of one class share a graph
    assert len(graphs) == compiled_once  # new permutations and lambdas: no recompilation
    plain = compiled(**batch)
    torch.testing.assert_close(plain, eager(**batch))  # and without hooks


@pytest.mark.parametrize("method", ["none", "amplify"])
def test_a_finished_run_frees_its_model(method):
    """Nothing keeps a trained model alive (the activation measurement of the first step
    once tied the graph to the parameters in a cycle gc cannot see: a sweep's worker grew
    by a model per run until the kernel killed it)."""
    model = tiny_classifier(num_labels=2, seed=0)
    parameters = [weakref.ref(p) for p in model.parameters()]
    train_and_evaluate(model, create_method(method), data(), SETTINGS, 0, torch.device("cpu"), 0, 2)
    del model
    gc.collect()
    assert not [p for p in parameters if p() is not None]


def test_a_deferred_finite_check_names_the_first_diverged_step():
    """On a GPU the step only notes a non-finite loss on the device (no wait for it) and
    the epoch's check raises, naming the first bad step; the same path, forced on a CPU."""
    from bench.run.training import Trainer

    trainer = Trainer(
        tiny_classifier(), create_method("none"), TrainSettings(), torch.device("cpu"), 10
    )
    trainer.deferred_checks = True
    for step, loss in enumerate([0.5, float("nan"), float("inf")], start=1):
        trainer.note_finite(torch.tensor(loss))
        trainer.steps = step
    with pytest.raises(Diverged, match=r"loss became nan at step 2 \(found at step 3\)"):
        trainer.check_finite()


def test_a_finite_run_passes_the_deferred_check():
    from bench.run.training import Trainer

    trainer = Trainer(
        tiny_classifier(), create_method("none"), TrainSettings(), torch.device("cpu"), 10
    )
    trainer.deferred_checks = True
    trainer.note_finite(torch.tensor(0.25))
    trainer.check_finite()  # no error
