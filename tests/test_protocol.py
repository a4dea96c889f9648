"""The AMPLIFY authors' protocol as settings: a second, independent label permutation
(--label-partner independent) and their per-method heads (--head published), each checked
on constructed batches; the defaults leave every spec and number as they were."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from transformers import BertConfig, BertModel

from bench.api.method_api import plain_step
from bench.api.registry import create_method
from bench.core.config import PROFILES, RunSpec
from bench.core.errors import UserError
from bench.core.streams import numpy_stream
from bench.run.harness import head_pooling
from bench.run.models import (
    Classifier,
    ResolvedModel,
    load_backbone,
    pooler_provenance,
    reinitialise_pooler,
)
from tests.conftest import SMALL, tiny_classifier, toy_batch


def step(method_name: str, lam: float, label_seed: int | None, batch_size: int = 8):
    """One training step of `method_name` at a fixed lambda, with or without the
    independent label stream of `label_seed`; returns (loss, perm, label_perm)."""
    method = create_method(method_name)
    method.sample_lambda = lambda rng: lam  # type: ignore[method-assign]
    if label_seed is not None:
        method.label_rng = numpy_stream(label_seed, "label_partner")
    model = tiny_classifier().eval()  # no dropout: steps compare exactly
    batch, labels = toy_batch(batch_size)
    rng = np.random.default_rng(0)
    perm = torch.from_numpy(np.random.default_rng(0).permutation(batch_size))
    out = method.training_step(model, batch, labels, rng)
    return out, perm, (model, batch, labels)


@pytest.mark.parametrize("name", ["word", "sentence", "tmix"])
def test_independent_label_partner_is_another_permutation_in_the_loss(name):
    out, perm, (model, batch, labels) = step(name, 0.7, label_seed=3)
    label_perm = torch.from_numpy(numpy_stream(3, "label_partner").permutation(len(labels)))
    assert not torch.equal(label_perm, perm)  # the label partner is not the input partner
    logits = out.logits
    expected = 0.7 * F.cross_entropy(logits, labels) + 0.3 * F.cross_entropy(
        logits, labels[label_perm]
    )
    assert torch.allclose(out.loss, expected)
    same = 0.7 * F.cross_entropy(logits, labels) + 0.3 * F.cross_entropy(logits, labels[perm])
    assert not torch.allclose(out.loss, same)


@pytest.mark.parametrize("name", ["word", "sentence", "tmix", "amplify"])
def test_same_label_partner_leaves_the_step_unchanged(name):
    """--label-partner same (the default) is the suite's step: labels of the input partners."""
    out, perm, (_, _, labels) = step(name, 0.7, label_seed=None)
    logits = out.logits
    same = 0.7 * F.cross_entropy(logits, labels) + 0.3 * F.cross_entropy(logits, labels[perm])
    assert torch.allclose(out.loss, same)


@pytest.mark.parametrize("name", ["word", "sentence", "tmix"])
def test_lambda_one_with_independent_labels_is_nones_step(name):
    out, _, (model, batch, labels) = step(name, 1.0, label_seed=3)
    plain = plain_step(model, batch, labels)
    assert torch.equal(out.loss, plain.loss) and torch.equal(out.logits, plain.logits)


def test_every_method_of_a_seed_draws_the_same_label_partners():
    """Common random numbers: the label-partner stream is the run seed's own, drawn every
    step whatever the method does, so word and TMix of one seed see the same partners."""
    draws = {}
    for name in ("word", "tmix"):
        method = create_method(name)
        method.label_rng = numpy_stream(5, "label_partner")
        draws[name] = [method.label_permutation(torch.arange(16)) for _ in range(4)]
    assert all(torch.equal(a, b) for a, b in zip(draws["word"], draws["tmix"], strict=True))
    method_stream = numpy_stream(5, "method").permutation(16)
    assert not np.array_equal(draws["word"][0].numpy(), method_stream)


def test_protocol_defaults_keep_every_spec_hash():
    spec = RunSpec("word", "r8", "minilm-l6", 0, PROFILES["quick"])
    assert "label_partner" not in spec.to_dict()["settings"]
    assert "head" not in spec.to_dict()["settings"]
    changed = dataclasses.replace(PROFILES["quick"], label_partner="independent")
    assert RunSpec("word", "r8", "minilm-l6", 0, changed).hash != spec.hash


def test_published_heads_per_method():
    settings = dataclasses.replace(PROFILES["quick"], head="published")
    heads = {n: head_pooling(create_method(n), settings) for n in ("word", "sentence", "tmix")}
    assert heads == {"word": "pooler", "sentence": "pooler", "tmix": "pooler"}
    assert head_pooling(create_method("amplify"), settings) == "plain-mean"
    assert head_pooling(create_method("amplify"), PROFILES["quick"]) == "mean"
    # the authors' no-mixup baseline is BertForSequenceClassification: the [CLS] pooler
    assert head_pooling(create_method("none"), settings) == "pooler"
    with pytest.raises(UserError, match="has no published head"):
        head_pooling(create_method("smooth"), settings)


def test_pooler_head_is_the_encoders_cls_pooler():
    model = tiny_classifier(pooling="pooler").eval()
    batch, _ = toy_batch()
    hidden = model.encoder(**batch).last_hidden_state
    expected = model.head(torch.tanh(model.encoder.pooler.dense(hidden[:, 0])))
    assert torch.allclose(model(**batch), expected, atol=1e-6)


def test_plain_mean_head_averages_every_position_padded_to_max_length():
    """The authors' AMPLIFY head: a plain mean over every position of a batch padded to
    the maximum length, padding included (not the masked mean)."""
    torch.manual_seed(0)
    encoder = BertModel(BertConfig(**SMALL))
    model = Classifier(encoder, 3, "plain-mean", pad_to=12, pad_id=0).eval()
    batch, _ = toy_batch(length=7)
    padded = {k: F.pad(v, (0, 5), value=0) for k, v in batch.items()}
    hidden = encoder(**padded).last_hidden_state
    assert hidden.shape[1] == 12
    assert torch.allclose(model(**batch), model.head(hidden.mean(1)), atol=1e-6)
    masked = Classifier(encoder, 3, "mean").eval()
    masked.head = model.head
    assert not torch.allclose(model(**batch), masked(**batch), atol=1e-4)


def _trained_like(pooler: torch.nn.Module) -> None:
    """A pooler as training leaves one: a non-zero bias and a dominant direction."""
    with torch.no_grad():
        pooler.dense.bias.normal_(0.0, 0.05)
        u, v = torch.randn(pooler.dense.weight.shape[0]), torch.randn(pooler.dense.weight.shape[1])
        pooler.dense.weight.add_(torch.outer(u, v) / 10)


@pytest.mark.parametrize(
    "pooler,expected",
    [("trained", "trained"), ("as initialised", "untrained"), (None, "initialised")],
)
def test_record_tells_a_trained_pooler_from_an_untrained_or_missing_one(pooler, expected, tmp_path):
    """A checkpoint's [CLS] pooler counts as trained only if it does not look as BERT's
    initialisation leaves it (zero bias, a weight spectrum of i.i.d. noise)."""
    from transformers import BertTokenizerFast

    torch.manual_seed(0)
    model = BertModel(BertConfig(**SMALL), add_pooling_layer=pooler is not None)
    if pooler == "trained":
        _trained_like(model.pooler)
    model.save_pretrained(tmp_path)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(59)]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab))
    BertTokenizerFast(str(tmp_path / "vocab.txt")).save_pretrained(tmp_path)
    encoder, _ = load_backbone(ResolvedModel("tiny", str(tmp_path), "local"))
    assert encoder.pooler_weights == expected


def test_an_initialised_pooler_with_its_bias_trained_is_still_untrained_by_its_spectrum():
    """Each sign alone marks a pooler untrained: noise-like weights with a non-zero bias."""
    torch.manual_seed(0)
    encoder = BertModel(BertConfig(**SMALL))
    with torch.no_grad():
        encoder.pooler.dense.bias.normal_(0.0, 0.05)
    state, evidence = pooler_provenance(encoder, loaded=True)
    assert state == "untrained" and "non-zero" in evidence
    _trained_like(encoder.pooler)
    assert pooler_provenance(encoder, loaded=True)[0] == "trained"


def test_reinitialised_pooler_is_berts_initialisation_and_leaves_the_head_as_it_was():
    """--pooling pooler-reinit: the pooler is N(0, 0.02) with bias 0, drawn after the
    head, so the head's initialisation is the seed's, as under every other pooling."""
    torch.manual_seed(0)
    encoder = BertModel(BertConfig(**SMALL))
    _trained_like(encoder.pooler)
    torch.manual_seed(1)
    shipped = Classifier(copy.deepcopy(encoder), 3, "pooler")
    torch.manual_seed(1)
    fresh = Classifier(copy.deepcopy(encoder), 3, "pooler-reinit")
    reinitialise_pooler(fresh)
    assert torch.equal(shipped.head.weight, fresh.head.weight)
    dense = fresh.pooler.encoder_pooler.dense
    assert torch.equal(dense.bias, torch.zeros_like(dense.bias))
    assert abs(float(dense.weight.std()) - 0.02) < 0.004
    assert not torch.equal(dense.weight, shipped.pooler.encoder_pooler.dense.weight)


def test_protocol_settings_refuse_methods_they_do_not_apply_to(tmp_path, capsys):
    from bench.cli.cli import main

    for argv, match in [
        (["--methods", "none", "--label-partner", "independent"], "has no mixed-label loss"),
        (["--methods", "ssmix", "--label-partner", "independent"], "has no mixed-label loss"),
        (["--methods", "amplify", "--label-partner", "independent"], "never trains 'amplify'"),
        (["--methods", "manifold", "--label-partner", "independent"], "never trains"),
        (["--methods", "smooth", "--head", "published"], "has no head in the AMPLIFY"),
        (["--methods", "word", "--head", "published", "--pooling", "cls"], "drop --pooling"),
    ]:
        code = main([*argv, "--datasets", "r8", "--results-dir", str(tmp_path / "r")])
        assert code == 2 and match in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def protocol_records():
    """Reference runs (shared head, same labels) and the published-protocol study's runs
    at 3 seeds on 2 datasets, with accuracies chosen so that the 2 x 2 is known: AMPLIFY's
    advantage over word is 0 (suite), 2 (labels only), 5 (head only), 10 (published)."""
    from tests.conftest import fake_record, fake_result

    quick = PROFILES["quick"]
    cells = {
        ("same", "shared"): {"none": 0.80, "word": 0.80, "sentence": 0.80, "tmix": 0.80},
        ("independent", "shared"): {"word": 0.78, "sentence": 0.80, "tmix": 0.80},
        ("same", "published"): {"word": 0.75, "sentence": 0.80, "tmix": 0.80},
        ("independent", "published"): {"word": 0.70, "sentence": 0.80, "tmix": 0.80},
    }
    records = []
    for seed in range(3):
        for dataset in ("r8", "rt-subj"):
            jitter = 0.002 * (seed - 1)
            amplify = {("same", "shared"): 0.80 + jitter, ("same", "published"): 0.80}
            for (partner, head), accs in cells.items():
                settings = dataclasses.replace(quick, label_partner=partner, head=head)
                runs = {
                    **accs,
                    **({"amplify": amplify[partner, head]} if partner == "same" else {}),
                }
                for method, acc in runs.items():
                    spec = RunSpec(method, dataset, "minilm-l6", seed, settings, profile="quick")
                    if (partner, head) != ("same", "shared"):  # the study's own runs
                        spec = dataclasses.replace(spec, study="published-protocol")
                    records.append(fake_record(spec, result=fake_result(accuracy=acc)))
    return records


def test_the_published_protocol_decomposes_amplifys_advantage(unrendered_figures):
    from bench.report.analyse.analysis import records_frame
    from bench.report.analyse.protocol import analyse_protocol, carried_by
    from bench.report.render.study_report import analyse_studies

    frame = records_frame(protocol_records())
    assert set(frame.study) == {"", "published-protocol"}
    (study,) = [a for _, a in analyse_studies(frame) if a.study == "published-protocol"]
    analysis = analyse_protocol(study.ok)
    cells = {(e.against, e.regime): e for e in analysis.cells}
    word = [cells["word", c].mean for c in ("suite", "labels only", "head only", "published")]
    assert np.allclose(word, [0, 2, 5, 10], atol=1e-9)
    contrasts = {(e.against, e.regime): e.mean for e in analysis.decomposition}
    assert contrasts["word", "label partner (main effect)"] == pytest.approx(3.5)
    assert contrasts["word", "head (main effect)"] == pytest.approx(6.5)
    assert contrasts["word", "interaction"] == pytest.approx(3.0)
    assert contrasts["sentence", "interaction"] == pytest.approx(0.0)
    assert analysis.claim.key == "P" and analysis.seeds == 3
    assert [e.against for e in analysis.claim.effects] == ["word", "sentence", "tmix"]
    assert "published protocol" in carried_by(analysis)


def test_the_published_protocol_study_plans_its_grid():
    from bench.core.studies import get_study
    from bench.sweep.planning import study_requests

    study = get_study("published-protocol")
    assert study.runs == 539 and study.seeds == tuple(range(7))
    requests = study_requests(study)
    assert [r.methods for r in requests] == [
        ("word", "sentence", "tmix"),
        ("none", "word", "sentence", "tmix", "amplify"),  # the authors' none: their head
        ("word", "sentence", "tmix"),
    ]
    assert requests[0].overrides == {"label_partner": "independent"}


def test_claim_p_prints_the_tables_interval_for_each_contrast(unrendered_figures):
    """One contrast, one interval: P's effects are the decomposition table's published
    column, corrected over that table's 12 effects (not re-corrected over P's own 3)."""
    from bench.report.analyse.analysis import records_frame
    from bench.report.analyse.protocol import analyse_protocol
    from bench.report.render.study_report import analyse_studies

    frame = records_frame(protocol_records())
    (study,) = [a for _, a in analyse_studies(frame) if a.study == "published-protocol"]
    analysis = analyse_protocol(study.ok)
    published = {e.against: e for e in analysis.cells if e.regime == "published"}
    for e in analysis.claim.effects:
        cell = published[e.against]
        assert (e.mean, e.low, e.high, e.mde) == (cell.mean, cell.low, cell.high, cell.mde)
    assert analysis.claim.family_size == len(analysis.cells) == 12


def test_a_published_head_cell_compares_with_the_authors_none_and_the_others_with_the_suites():
    """`none` under --head published is the authors' BertForSequenceClassification: the
    published-head cells compare with it, the labels-only cell with the reference's."""
    from bench.report.analyse.analysis import records_frame
    from bench.report.render.study_report import analyse_studies
    from tests.conftest import fake_record, fake_result

    records = protocol_records()
    published = dataclasses.replace(PROFILES["quick"], head="published")
    for seed in range(3):
        for dataset in ("r8", "rt-subj"):
            spec = RunSpec("none", dataset, "minilm-l6", seed, published, profile="quick")
            spec = dataclasses.replace(spec, study="published-protocol")
            records.append(fake_record(spec, result=fake_result(accuracy=0.70)))
    frame = records_frame(records)
    (study,) = [a for _, a in analyse_studies(frame) if a.study == "published-protocol"]
    diffs = study.differences.set_index(["dataset", "method"])
    # word is 0.80 - 0.02 under independent labels (shared head): against the suite's none
    assert diffs.loc[("r8 · labels independent", "word"), "diff"] == pytest.approx(-2.0)
    # under the published head: against the authors' none (0.70), in both published cells
    assert diffs.loc[("r8 · published head", "word"), "diff"] == pytest.approx(5.0)
    assert diffs.loc[("r8 · published protocol", "word"), "diff"] == pytest.approx(0.0)
