"""How much of an aggregate interval is test-set sampling: a hierarchical bootstrap that
resamples the seeds within each dataset (as the aggregate does) and, within each drawn
seed, the test examples (paired: a method and `none` are scored on the same examples), from
the per-example predictions every record stores. Pure numpy / pandas; nothing renders."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.report.analyse.stats import ALPHA

BASELINE = "none"


def per_example_differences(ok: pd.DataFrame, method: str) -> dict[str, list[np.ndarray]]:
    """Per dataset, per seed both ran: correct(method) - correct(none) per test example."""
    out: dict[str, list[np.ndarray]] = {}
    for dataset, group in ok[ok.method.isin([method, BASELINE])].groupby("dataset"):
        records = {(r.seed, r.method): r.record for r in group.itertuples()}
        seeds = sorted(
            {s for s, m in records if m == method} & {s for s, m in records if m == BASELINE}
        )
        out[dataset] = [
            records[(s, method)].result.predictions.correct.astype(np.int8)
            - records[(s, BASELINE)].result.predictions.correct.astype(np.int8)
            for s in seeds
        ]
    return {d: seeds for d, seeds in out.items() if len(seeds) >= 3}


def hierarchical_interval(
    per_dataset: dict[str, list[np.ndarray]], alpha: float, reps: int = 1000, seed: int = 0
) -> tuple[float, float, float, float]:
    """(seeds-only low, high, seeds-and-examples low, high) of the mean over datasets of
    the mean paired difference (points), at level 1 - alpha."""
    rng = np.random.default_rng(seed)
    seeds_only, both = np.empty(reps), np.empty(reps)
    # a dataset's seeds share one test subsample: its per-example differences stack into
    # a (seeds, examples) matrix, and one draw of seeds x examples indices takes the same
    # numbers from the stream as a draw per seed
    matrices = [np.stack(diffs) for diffs in per_dataset.values()]
    seed_means = [m.mean(axis=1) for m in matrices]
    flats = [m.ravel() for m in matrices]  # one flat take is 2x faster than 2-d indexing
    for r in range(reps):
        means_seeds, means_both = [], []
        for matrix, flat, seed_mean in zip(matrices, flats, seed_means, strict=True):
            n_seeds, n_examples = matrix.shape
            drawn = rng.integers(0, n_seeds, n_seeds)
            means_seeds.append(seed_mean[drawn].mean())
            examples = rng.integers(0, n_examples, n_seeds * n_examples).reshape(n_seeds, -1)
            examples += (drawn * n_examples)[:, None]  # row drawn[i], column examples[i]
            # integer sums are exact, so sum / n is the mean bit for bit
            sums = np.take(flat, examples).sum(axis=1, dtype=np.int64)
            means_both.append((sums / n_examples).mean())
        seeds_only[r], both[r] = np.mean(means_seeds), np.mean(means_both)
    q = [100 * alpha / 2, 100 * (1 - alpha / 2)]
    lo_s, hi_s = np.percentile(100 * seeds_only, q)
    lo_b, hi_b = np.percentile(100 * both, q)
    return float(lo_s), float(hi_s), float(lo_b), float(hi_b)


def sampling_widths(ok: pd.DataFrame, methods: list[str], reps: int = 1000) -> pd.DataFrame:
    """Per method: the Bonferroni-level interval (over the methods) with seeds only and
    with test examples resampled too, and the ratio of their widths (what the report's
    t-intervals leave out of test-set sampling)."""
    compared = [m for m in methods if m != BASELINE]
    rows = []
    for method in compared:
        per_dataset = per_example_differences(ok, method)
        if len(per_dataset) < 1:
            continue
        lo_s, hi_s, lo_b, hi_b = hierarchical_interval(
            per_dataset, ALPHA / max(1, len(compared)), reps
        )
        rows.append(
            {
                "method": method,
                "seeds_low": lo_s,
                "seeds_high": hi_s,
                "hierarchical_low": lo_b,
                "hierarchical_high": hi_b,
                "widening": (hi_b - lo_b) / (hi_s - lo_s) if hi_s > lo_s else float("nan"),
            }
        )
    return pd.DataFrame(rows)
