"""Figures of the report (matplotlib, PNG and SVG). One colour per method in every figure."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import matplotlib
import matplotlib.lines
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.report.analyse.analysis import BlockAnalysis  # noqa: E402

PALETTE = plt.get_cmap("tab10").colors


def colours(methods: list[str]) -> dict[str, tuple]:
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(methods)}


def _save(fig, out_dir: Path, name: str, rect: tuple[float, ...] = (0, 0, 1, 1)) -> None:
    """Lay out the figure inside `rect`, write it as PNG and SVG, and free it."""
    fig.tight_layout(rect=rect)
    fig.savefig(out_dir / f"{name}.png", dpi=120)
    # identical files from identical records: fixed element ids, no date inside
    with plt.rc_context({"svg.hashsalt": name}):
        fig.savefig(out_dir / f"{name}.svg", metadata={"Date": None})
    plt.close(fig)


def accuracy_bars(table: pd.DataFrame, methods: list[str], out_dir: Path, name: str) -> None:
    """Mean test accuracy (%) per dataset and method, error bars: std over seeds."""
    datasets = sorted(table.dataset.unique())
    colour = colours(methods)
    width = 0.8 / len(methods)
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(datasets) + 2), 4))
    x = np.arange(len(datasets))
    for i, method in enumerate(methods):
        rows = table[table.method == method].set_index("dataset").reindex(datasets)
        ax.bar(
            x + (i - (len(methods) - 1) / 2) * width,
            rows["mean"],
            width,
            yerr=rows["std"].fillna(0),
            capsize=2,
            label=method,
            color=colour[method],
        )
    ax.set_xticks(x, datasets, rotation=20)
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)  # a full axis: bars that start above 0 exaggerate differences
    ax.set_title("Test accuracy per dataset (mean ± std over seeds)")
    ax.legend(
        ncol=min(6, len(methods)), fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18)
    )
    _save(fig, out_dir, name)


def difference_heatmap(diffs: pd.DataFrame, methods: list[str], out_dir: Path, name: str) -> None:
    """Mean difference to none per cell with its 95% interval; `*` only where the
    Holm-corrected paired t-test rejects."""
    others = [m for m in methods if m in set(diffs.method)]
    datasets = sorted(diffs.dataset.unique())
    grid = np.full((len(datasets), len(others)), np.nan)
    labels = [["" for _ in others] for _ in datasets]
    for r in diffs.itertuples():
        i, j = datasets.index(r.dataset), others.index(r.method)
        grid[i, j] = r.diff
        interval = "" if np.isnan(r.ci_low) else f"\n[{r.ci_low:+.1f}, {r.ci_high:+.1f}]"
        labels[i][j] = f"{r.diff:+.1f}{'*' if r.significant else ''}{interval}"
    bound = max(1.0, np.nanmax(np.abs(grid)))
    fig, ax = plt.subplots(figsize=(1.6 * len(others) + 2.5, 0.7 * len(datasets) + 1.8))
    image = ax.imshow(grid, cmap="RdBu", vmin=-bound, vmax=bound, aspect="auto")
    significant = np.zeros_like(grid, dtype=bool)
    for r in diffs.itertuples():
        significant[datasets.index(r.dataset), others.index(r.method)] = bool(r.significant)
    # cells the Holm-corrected test does not carry are washed out towards white
    ax.imshow(
        np.where(significant | np.isnan(grid), np.nan, 1.0),
        cmap=matplotlib.colors.ListedColormap(["white"]),
        alpha=0.65,
        aspect="auto",
    )
    for i in range(len(datasets)):
        for j in range(len(others)):
            dark = significant[i, j] and abs(grid[i, j]) > 0.6 * bound
            ax.text(
                j,
                i,
                labels[i][j],
                ha="center",
                va="center",
                fontsize=8,
                color="white" if dark else "black",
            )
    ax.set_xticks(range(len(others)), others)
    ax.set_yticks(range(len(datasets)), datasets)
    fig.colorbar(image, ax=ax, label="accuracy - none (points)")
    ax.set_title("Difference to none, 95% CI (* = Holm p < 0.05; faded: not significant)")
    _save(fig, out_dir, name)


def gain_vs_cost(
    aggregates: pd.DataFrame, cost: pd.DataFrame, methods: list[str], out_dir: Path, name: str
) -> None:
    """Aggregate difference to none with the Bonferroni-corrected t-interval (the
    one the claims rest on) against train time relative to none, per method and device;
    `none` itself at (1, 0)."""
    colour = colours(methods)
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.axhline(0, color="grey", linewidth=1, linestyle="--")
    markers = "os^Dv<>"
    agg = aggregates.set_index("method")
    ax.plot(1.0, 0.0, marker="o", color=colour.get("none", "black"), label="none")
    ax.annotate("none", (1.0, 0.0), fontsize=8, xytext=(-24, -12), textcoords="offset points")
    placed = 0
    for d, (_device, group) in enumerate(cost.groupby("device")):
        for r in group.itertuples():
            if r.method not in agg.index or pd.isna(getattr(r, "train_time_x", np.nan)):
                continue
            a = agg.loc[r.method]
            low = a.get("corrected_low", a["low"])
            high = a.get("corrected_high", a["high"])
            ax.errorbar(
                r.train_time_x,
                a["mean"],
                yerr=[[a["mean"] - low], [high - a["mean"]]],
                color=colour[r.method],
                marker=markers[d % len(markers)],
                capsize=3,
                label=r.method if d == 0 else None,
            )
            placed += 1
            ax.annotate(  # labels alternate sides so that close points stay readable
                r.method,
                (r.train_time_x, a["mean"]),
                fontsize=8,
                xytext=(6, 8 if placed % 2 else -12),
                textcoords="offset points",
            )
    ax.set_xlabel("train time relative to none (median ratio)")
    ax.set_ylabel("accuracy - none, mean over datasets (points)")
    ax.set_title("Gain against cost (bars: Bonferroni-corrected 95% t-interval)")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1, 0.5))
    _save(fig, out_dir, name)


def critical_difference(
    ranks: pd.Series, cd: float, friedman_p: float, out_dir: Path, name: str
) -> None:
    """Demsar's critical-difference diagram: average ranks on a line; methods joined by a
    bar when their ranks differ by less than the Nemenyi critical difference."""
    ordered = ranks.sort_values()
    k = len(ordered)
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.3 * k))
    ax.set_xlim(0.8, k + 0.2)
    ax.set_ylim(-(k + 1) * 0.35 - 0.3, 1.0)
    ax.hlines(0, 1, k, color="black")
    for tick in range(1, k + 1):
        ax.vlines(tick, -0.05, 0.05, color="black")
        ax.text(tick, 0.12, str(tick), ha="center", fontsize=8)
    ax.hlines(0.6, 1, 1 + cd, color="black", linewidth=2)
    ax.text(1 + cd / 2, 0.7, f"CD = {cd:.2f}", ha="center", fontsize=8)
    for i, (method, rank) in enumerate(ordered.items()):
        y = -0.35 * (i + 1)
        ax.plot([rank, rank], [0, y], color="grey", linewidth=0.8)
        ax.text(k + 0.15, y, f"{method} ({rank:.2f})", va="center", fontsize=8)
        ax.plot([rank, k + 0.1], [y, y], color="grey", linewidth=0.8)
    values = ordered.to_numpy()
    groups, level = [], 0
    for i in range(k):
        j = i
        while j + 1 < k and values[j + 1] - values[i] < cd:
            j += 1
        if j > i and not any(a <= i and j <= b for a, b in groups):
            groups.append((i, j))
    for a, b in groups:
        level += 1
        ax.hlines(-0.1 * level, values[a] - 0.03, values[b] + 0.03, color="black", linewidth=3)
    ax.axis("off")
    ax.set_title(f"Average ranks (1 = best); Friedman p = {friedman_p:.3g}", fontsize=9)
    _save(fig, out_dir, name)


def activation_bars(med: pd.Series, methods: list[str], out_dir: Path, name: str) -> None:
    """Median bytes saved for backward in a training step, per method (device-independent:
    what dominates GPU memory; the CPU's process RSS is the same for every method)."""
    colour = colours(methods)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar(methods, med.to_numpy(), color=[colour[m] for m in methods])
    ax.set_ylabel("saved for backward per step (MiB)")
    ax.set_title("Activation memory per training step (median over runs)")
    ax.tick_params(axis="x", rotation=20)
    _save(fig, out_dir, name)


def calibration(
    ece: pd.Series, curves: pd.DataFrame, methods: list[str], out_dir: Path, name: str
) -> None:
    """ECE per method (mean over runs) and a reliability diagram (`curves`: confidence,
    accuracy per bin and method, the test sets pooled)."""
    colour = colours(methods)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.bar(methods, ece.to_numpy(), color=[colour[m] for m in methods])
    left.set_ylabel("ECE (15 bins, mean over runs)")
    left.set_title("Expected calibration error (lower is better)")
    left.tick_params(axis="x", rotation=20)
    right.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect")
    for method in methods:
        curve = curves[curves.method == method]
        if not curve.empty:
            right.plot(
                curve.confidence,
                curve.accuracy,
                marker="o",
                markersize=3,
                color=colour[method],
                label=method,
            )
    right.set_xlabel("confidence (max softmax probability)")
    right.set_ylabel("accuracy in bin")
    right.set_title("Reliability diagram (test sets pooled)")
    right.legend(fontsize=8)
    _save(fig, out_dir, name)


def condition_curves(
    cells: pd.DataFrame, methods: list[str], out_dir: Path, name: str, xlabel: str, log_x: bool
) -> None:
    """A study's accuracy against its condition (noise rate, per-class budget): one panel
    per dataset (and noise kind), one line per method, bars: 95% t-interval over seeds."""
    colour = colours(methods)
    panels = list(cells.groupby(["dataset", "series"]).groups)
    cols = min(4, len(panels))
    rows = int(np.ceil(len(panels) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.8 * rows), squeeze=False)
    for ax, (dataset, series) in zip(axes.flat, panels, strict=False):
        panel = cells[(cells.dataset == dataset) & (cells.series == series)]
        for i, method in enumerate(methods):
            line = panel[panel.method == method].sort_values("x")
            if line.empty:
                continue
            shift = 1 + 0.03 * (i - (len(methods) - 1) / 2)  # keep the bars apart
            x = line.x * shift if log_x else line.x + 0.004 * (i - (len(methods) - 1) / 2)
            error = np.vstack([line["mean"] - line.low, line.high - line["mean"]])
            ax.errorbar(
                x,
                line["mean"],
                yerr=np.nan_to_num(error),
                marker="o",
                markersize=3,
                capsize=2,
                color=colour[method],
                label=method,
            )
        if log_x:
            ax.set_xscale("log")
        ax.set_title(f"{dataset} {series}".strip(), fontsize=9)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test accuracy (%)")
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(6, len(methods)), fontsize=8)
    _save(fig, out_dir, name, rect=(0, 0.08, 1, 1))


def training_curves(
    curves: pd.DataFrame, datasets: list[str], methods: list[str], out_dir: Path, name: str
) -> None:
    """Validation accuracy per epoch (`curves`: dataset, method, epoch, val_accuracy), one
    panel per dataset."""
    colour = colours(methods)
    cols = min(4, len(datasets))
    rows = int(np.ceil(len(datasets) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    for ax, dataset in zip(axes.flat, datasets, strict=False):
        for method in methods:
            mean = curves[(curves.dataset == dataset) & (curves.method == method)]
            if mean.empty:
                continue
            ax.plot(
                mean.epoch.to_numpy(),
                100 * mean.val_accuracy.to_numpy(),
                marker="o",
                markersize=3,
                color=colour[method],
                label=method,
            )
        ax.set_title(dataset, fontsize=9)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel("val accuracy (%)")
    for ax in list(axes.flat)[len(datasets) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(6, len(methods)), fontsize=8)
    fig.suptitle("Validation accuracy per epoch (mean over seeds)")
    _save(fig, out_dir, name, rect=(0, 0.06, 1, 1))


def draw_all(a: BlockAnalysis, out_dir: Path, suffix: str = "") -> Iterator[tuple[str, str]]:
    """Draw every figure of one block; yields (file stem, caption)."""
    ok = a.ok
    present = [m for m in a.methods if m in set(ok.method)]
    accuracy_bars(a.accuracy, present, out_dir, f"accuracy{suffix}")
    yield f"accuracy{suffix}", "Test accuracy per dataset and method, error bars: std over seeds"
    if not a.differences.empty:
        difference_heatmap(a.differences, present, out_dir, f"difference{suffix}")
        yield (
            f"difference{suffix}",
            "Accuracy difference to none in points with 95% CI; * = Holm-corrected p < 0.05",
        )
    if not a.aggregates.empty and "train_time_x" in a.cost:
        gain_vs_cost(a.aggregates, a.cost, present, out_dir, f"gain_vs_cost{suffix}")
        yield (
            f"gain_vs_cost{suffix}",
            "Aggregate accuracy difference to none with the Bonferroni-corrected t-interval "
            "the claims use, against train time; none at (1, 0)",
        )
    if a.ranks.critical_difference is not None and a.ranks.friedman_p is not None:
        critical_difference(
            a.ranks.ranks,
            a.ranks.critical_difference,
            a.ranks.friedman_p,
            out_dir,
            f"critical_difference{suffix}",
        )
        yield (
            f"critical_difference{suffix}",
            "Critical-difference diagram: methods joined by a bar are not distinguishable",
        )
    if "activation_mb" in ok and ok.activation_mb.notna().any():
        median = a.activation_median.reindex(present)
        activation_bars(median, present, out_dir, f"activation{suffix}")
        yield (
            f"activation{suffix}",
            "Activation memory: bytes autograd saves for backward in a training step",
        )
    calibration(
        a.mean_ece.reindex(present), a.reliability, present, out_dir, f"calibration{suffix}"
    )
    yield f"calibration{suffix}", "Calibration: ECE per method and reliability diagram"
    datasets = sorted(ok.dataset.unique())
    training_curves(a.val_curves, datasets, present, out_dir, f"curves{suffix}")
    yield (
        f"curves{suffix}",
        "Validation accuracy after each epoch (one point per epoch; training loss per "
        "epoch is in the records' curves)",
    )


def forest(rows: pd.DataFrame, label: str, out_dir: Path, name: str, xlabel: str) -> None:
    """One horizontal interval per row (columns `label`, mean, low, high), a line at 0."""
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(rows) + 1.2))
    y = np.arange(len(rows))[::-1]
    ax.errorbar(
        rows["mean"],
        y,
        xerr=[rows["mean"] - rows["low"], rows["high"] - rows["mean"]],
        fmt="o",
        color="black",
        capsize=3,
    )
    ax.axvline(0, color="grey", lw=1, ls="--")
    ax.set_yticks(y, rows[label])
    ax.set_xlabel(xlabel)
    _save(fig, out_dir, name)


def effect_vs_regime(effects: pd.DataFrame, out_dir: Path, name: str) -> None:
    """Per method (colour), the aggregate difference to none with its corrected interval in
    each regime (rows; a regime's methods spread around its row)."""
    regimes = list(dict.fromkeys(effects.regime))
    methods = list(dict.fromkeys(effects.method))
    colour = colours(methods)
    widest = int(effects.groupby("regime").method.nunique().max())
    fig, ax = plt.subplots(figsize=(10, 0.15 * len(regimes) * widest + 2.5))
    step = 0.8 / widest
    for row, regime in enumerate(reversed(regimes)):
        part = effects[effects.regime == regime]
        part = part.sort_values("method", key=lambda m: m.map(methods.index))
        for i, r in enumerate(part.itertuples()):
            ax.errorbar(
                r.mean,
                row + ((len(part) - 1) / 2 - i) * step,
                xerr=[[r.mean - r.low], [r.high - r.mean]],
                fmt="o",
                color=colour[r.method],
                capsize=2,
                ms=4,
            )
    ax.axvline(0, color="grey", lw=1, ls="--")
    for between in np.arange(len(regimes) - 1) + 0.5:  # a rule between regimes
        ax.axhline(between, color="lightgrey", lw=0.8)
    ax.grid(axis="x", color="whitesmoke")
    ax.set_yticks(np.arange(len(regimes)), list(reversed(regimes)))
    ax.set_ylim(-0.5, len(regimes) - 0.5)
    ax.set_xlabel("difference to none (accuracy points), Bonferroni-corrected 95% interval")
    handles = [
        matplotlib.lines.Line2D([], [], color=colour[m], marker="o", ls="", label=m)
        for m in methods
    ]
    ax.legend(handles=handles, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=3)
    _save(fig, out_dir, name)


def expected_max_curves(curves: pd.DataFrame, out_dir: Path, name: str) -> None:
    """Expected maximum validation accuracy against the budget of trials, one panel per
    dataset, a line per method with a band of one standard deviation."""
    datasets = sorted(curves.dataset.unique())
    methods = sorted(curves.method.unique())
    colour = colours(methods)
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets), 3.4), squeeze=False)
    for ax, dataset in zip(axes[0], datasets, strict=True):
        for method in methods:
            c = curves[(curves.dataset == dataset) & (curves.method == method)]
            if c.empty:
                continue
            ax.plot(c.budget, c["mean"], color=colour[method], label=method)
            ax.fill_between(
                c.budget, c["mean"] - c.sd, c["mean"] + c.sd, color=colour[method], alpha=0.12
            )
        ax.set_title(dataset)
        ax.set_xlabel("trials (budget)")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    axes[0][0].set_ylabel("expected max validation accuracy (%)")
    axes[0][-1].legend(fontsize=8, loc="lower right")
    _save(fig, out_dir, name)
