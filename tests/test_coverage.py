"""The report's one interval procedure is chosen by its coverage at the seed counts the
report uses: paired seed-level data with a known effect (normal and skewed noise; 3, 5 and
7 seeds; 2, 3 and 7 datasets), the share of 95% intervals that cover the effect."""

from __future__ import annotations

import numpy as np
import pytest

from bench.report.analyse.stats import mean_interval, stratified_bootstrap

EFFECT = 0.5
SIMULATIONS = 2000


def noise(rng: np.random.Generator, kind: str, shape: tuple[int, ...]) -> np.ndarray:
    """Unit-variance noise: normal, or right-skewed (a centred gamma, skewness 1)."""
    if kind == "normal":
        return rng.normal(0.0, 1.0, shape)
    return (rng.gamma(4.0, 1.0, shape) - 4.0) / 2.0


def simulated(kind: str, seeds: int, datasets: int, seed: int) -> np.ndarray:
    """(simulations, seeds, datasets) paired differences around a known effect."""
    rng = np.random.default_rng(seed)
    return EFFECT + noise(rng, kind, (SIMULATIONS, seeds, datasets))


@pytest.mark.parametrize("kind", ["normal", "skewed"])
@pytest.mark.parametrize("seeds", [3, 5, 7])
@pytest.mark.parametrize("datasets", [2, 3, 7])
def test_the_t_interval_over_seeds_covers_at_its_nominal_level(kind, seeds, datasets):
    """The procedure every interval of the report uses: a t-interval over seeds of the
    dataset-averaged paired difference (`mean_interval`)."""
    data = simulated(kind, seeds, datasets, seed=seeds * 10 + datasets)
    per_seed = data.mean(axis=2)
    covered = [low <= EFFECT <= high for low, high in map(mean_interval, per_seed)]
    assert 0.93 <= np.mean(covered) <= 0.97


def test_the_percentile_bootstrap_under_covers_at_five_seeds():
    """The procedure the Summary used before: the stratified percentile bootstrap. At 5
    seeds its 95% intervals cover the effect too rarely (about 86% with 2 datasets): it
    falls outside [93%, 97%], so it cannot be the one."""
    data = simulated("normal", 5, 2, seed=1)[:800]
    covered = []
    for sample in data:
        per_dataset = {f"d{k}": (sample[:, k], np.zeros(5)) for k in range(2)}
        agg = stratified_bootstrap(per_dataset, reps=500)
        covered.append(agg.low <= EFFECT <= agg.high)
    assert not 0.93 <= np.mean(covered) <= 0.97


def test_the_probability_of_improvement_does_not_move_with_the_resampling_seed():
    """The one resampling left (the PoI's bootstrap) uses enough replicates that its
    bounds, as the report prints them (2 decimals), are the same over 5 RNG seeds."""
    from bench.report.analyse.analysis import POI_REPLICATES

    rng = np.random.default_rng(3)
    data = {f"d{k}": (rng.normal(80.2, 1, 7), rng.normal(80, 1, 7)) for k in range(7)}
    bounds = {
        (round(a.p_improvement_low, 2), round(a.p_improvement_high, 2))
        for a in (stratified_bootstrap(data, reps=POI_REPLICATES, seed=s) for s in range(5))
    }
    assert len(bounds) == 1


def test_a_contrast_has_one_interval_wherever_the_report_prints_it(tmp_path, unrendered_figures):
    """`amplify` - `none` in the reference: the Summary, the head-to-head table and the
    block's aggregate line print the same corrected interval (one procedure, one family)."""
    import re

    from bench.core.config import PROFILES, RunSpec
    from bench.core.store import Store
    from bench.report.render.report import write_report
    from tests.conftest import fake_record, fake_result, report_text

    store = Store(tmp_path / "r")
    for seed in range(4):
        for d, dataset in enumerate(("a", "b", "c")):
            for method, shift in (("none", 0.0), ("word", 0.01), ("amplify", 0.004)):
                acc = 0.7 + shift + 0.01 * ((seed * 3 + d + len(method)) % 4)
                spec = RunSpec(
                    method, dataset, "minilm-l6", seed, PROFILES["quick"], profile="quick"
                )
                store.write(fake_record(spec, result=fake_result(accuracy=acc)))
    text = report_text(write_report(store, tmp_path / "out"))
    interval = r"\[([+-]\d+\.\d\d), ([+-]\d+\.\d\d)\]"
    summary = re.search(r"\*\*Equal, better or worse\*\*.*?amplify [+-]\d+\.\d\d " + interval, text)
    table = re.search(r"^\| none +\| +\d+ +\| +[^|]+\| " + interval, text, re.M)
    block = re.search(
        r"Aggregate `amplify` - `none` over .*Bonferroni-corrected over \d+ methods " + interval,
        text,
    )
    assert summary and table and block, (summary, table, block)
    assert len({m.groups() for m in (summary, table, block)}) == 1
