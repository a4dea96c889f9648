"""SSMix: the span, the tokens left alone, lambda, the degenerate case and a clean saliency
pass, checked against independent computations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bench.api.method_api import input_saliency
from bench.api.registry import create_method
from bench.core.errors import UserError
from methods.ssmix import choose_spans, span_mix, window_size
from tests.conftest import tiny_classifier, toy_batch


def brute_force(own: list[float], partner: list[float], window: int):
    """Every start except the first and the last window, by plain sums."""
    starts_own = range(1, len(own) - window)
    starts_partner = range(1, len(partner) - window)
    least = min(starts_own, key=lambda s: (sum(own[s : s + window]), s))
    most = max(starts_partner, key=lambda s: (sum(partner[s : s + window]), -s))
    return least, most


@pytest.mark.parametrize("window", [1, 2, 3])
def test_the_span_equals_a_brute_force_search(window):
    own = [9.0, 0.5, 0.2, 0.9, 0.1, 0.05, 0.7, 0.3, 8.0]
    partner = [7.0, 0.1, 0.8, 0.95, 0.6, 0.2, 0.4, 6.0]
    got = choose_spans(torch.tensor(own), torch.tensor(partner), window)
    assert got == brute_force(own, partner, window)


def test_no_interior_window_means_no_mix():
    assert choose_spans(torch.ones(4), torch.ones(3), 2) is None  # partner: 2 windows only
    assert choose_spans(torch.ones(3), torch.ones(9), 1) is not None


def test_window_size_follows_the_authors_rule():
    assert window_size(12, 0.1) == 1  # int(10 * 0.1)
    assert window_size(42, 0.1) == 4
    assert window_size(42, 0.25) == 10
    assert window_size(5, 0.0) == 1


def test_only_the_span_changes_and_lambda_is_the_share_kept():
    rng = np.random.default_rng(0)
    lengths = torch.tensor([12, 9, 22, 2])
    ids = torch.zeros((4, 22), dtype=torch.long)
    for i, n in enumerate(lengths.tolist()):
        ids[i, :n] = torch.from_numpy(rng.integers(5, 60, n))
        ids[i, 0], ids[i, n - 1] = 101, 102  # [CLS] ... [SEP]
    saliency = torch.from_numpy(rng.random((4, 22))).float()
    perm = torch.tensor([2, 0, 1, 3])
    mixed, lam = span_mix(ids, lengths, saliency, perm, 0.2)
    for i, j in enumerate(perm.tolist()):
        n = int(lengths[i])
        changed = (mixed[i] != ids[i]).nonzero().flatten().tolist()
        if n < 3:
            assert changed == [] and lam[i] == 1.0
            continue
        window = window_size(n, 0.2)
        start, source = brute_force(
            saliency[i, :n].tolist(), saliency[j, : int(lengths[j])].tolist(), window
        )
        expected = ids[i].clone()
        expected[start : start + window] = ids[j, source : source + window]
        assert torch.equal(mixed[i], expected)  # nothing outside the span moved
        assert mixed[i, 0] == 101 and mixed[i, n - 1] == 102  # specials in place
        assert lam[i] == pytest.approx(1 - window / (n - 2))


def test_the_saliency_pass_leaves_no_gradient_and_changes_no_weight():
    model = tiny_classifier().train()
    batch, labels = toy_batch()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    saliency = input_saliency(model, batch, labels)
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert saliency.shape == batch["input_ids"].shape
    assert (saliency[batch["attention_mask"] == 0] == 0).all() and saliency.sum() > 0


def test_saliency_is_the_embedding_gradient_norm():
    model = tiny_classifier().eval()
    batch, labels = toy_batch()
    captured = []
    handle = model.encoder.embeddings.register_forward_hook(
        lambda _m, _i, out: captured.append(out) or out.retain_grad()
    )
    F.cross_entropy(model(**batch), labels).backward()
    handle.remove()
    model.zero_grad(set_to_none=True)
    expected = captured[0].grad.norm(dim=-1) * batch["attention_mask"]
    torch.testing.assert_close(input_saliency(model, batch, labels), expected)


def test_span_ratio_zero_is_plain_fine_tuning():
    model = tiny_classifier().train()
    batch, labels = toy_batch()
    torch.manual_seed(3)
    plain = create_method("none").training_step(model, batch, labels, np.random.default_rng(0))
    torch.manual_seed(3)
    out = create_method("ssmix", {"span_ratio": 0.0}).training_step(
        model, batch, labels, np.random.default_rng(0)
    )
    assert torch.equal(out.loss, plain.loss) and out.lam == 1.0


@pytest.mark.parametrize("family,clean", list(itertools.product(["bert", "distilbert"], [1, 0])))
def test_a_step_on_both_layouts_mixes_and_backpropagates(family, clean):
    model = tiny_classifier(family).train()
    batch, labels = toy_batch(batch_size=6, length=9, token_types=family == "bert")
    method = create_method("ssmix", {"span_ratio": 0.3, "clean_loss": bool(clean)})
    out = method.training_step(model, batch, labels, np.random.default_rng(1))
    assert 0 < out.lam < 1 and torch.isfinite(out.loss)
    out.loss.backward()
    assert all(p.grad is not None for p in model.head.parameters())
    assert all(not m._forward_hooks for m in model.modules())


def test_options_are_validated():
    with pytest.raises(UserError, match="span_ratio"):
        create_method("ssmix", {"span_ratio": 1.5})


@pytest.mark.parametrize("span_ratio", [0.1, 0.3, 0.5, 1.0])
@pytest.mark.parametrize("partner_length", [2, 3, 4, 5, 8])
def test_a_partner_shorter_than_the_window_is_left_unmixed(span_ratio, partner_length):
    own_length = 40
    window = window_size(own_length, span_ratio)
    got = choose_spans(torch.rand(own_length), torch.rand(partner_length), window)
    # an interior window needs window + 2 tokens; shorter partners (the crash) give None
    assert (got is None) == (partner_length < window + 2)


def test_a_batch_where_every_partner_is_shorter_than_the_window_trains_unmixed():
    lengths = torch.tensor([30, 4, 5, 3])
    ids = torch.zeros((4, 30), dtype=torch.long)
    for i, n in enumerate(lengths.tolist()):
        ids[i, :n] = torch.arange(5, 5 + n)
    perm = torch.tensor([1, 2, 3, 1])  # the long example's partner has 4 tokens
    mixed, lam = span_mix(ids, lengths, torch.rand(4, 30), perm, 0.5)
    assert torch.equal(mixed[0], ids[0]) and lam[0] == 1.0


@pytest.mark.parametrize("span_ratio", [0.1, 0.5])
def test_long_and_very_short_sentences_in_one_batch_train(span_ratio):
    """As at the paper profile's length 256 (here the tiny model's 64 positions): the long
    sentence's window is longer than every partner; this step crashed before."""
    model = tiny_classifier()
    batch, labels = toy_batch(batch_size=6, length=64, seed=3)
    batch["attention_mask"][:, :] = 1
    batch["attention_mask"][1:, 4:] = 0  # five of six sentences have 4 tokens
    out = create_method("ssmix", {"span_ratio": span_ratio}).training_step(
        model, batch, labels, np.random.default_rng(0)
    )
    assert torch.isfinite(out.loss)
