"""Figures of the report (matplotlib, PNG and SVG). One colour per method in every figure."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.stats import summary_over_seeds  # noqa: E402

PALETTE = plt.get_cmap("tab10").colors


def colours(methods: list[str]) -> dict[str, tuple]:
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(methods)}


def _save(fig, out_dir: Path, name: str) -> None:
    fig.tight_layout()
    fig.savefig(out_dir / f"{name}.png", dpi=120)
    fig.savefig(out_dir / f"{name}.svg")
    plt.close(fig)


def accuracy_bars(ok: pd.DataFrame, methods: list[str], out_dir: Path, name: str) -> None:
    table = summary_over_seeds(ok, "accuracy")
    datasets = sorted(table.dataset.unique())
    colour = colours(methods)
    width = 0.8 / len(methods)
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(datasets) + 2), 4))
    x = np.arange(len(datasets))
    for i, method in enumerate(methods):
        rows = table[table.method == method].set_index("dataset").reindex(datasets)
        ax.bar(
            x + (i - (len(methods) - 1) / 2) * width,
            100 * rows["mean"],
            width,
            yerr=100 * rows["std"].fillna(0),
            capsize=2,
            label=method,
            color=colour[method],
        )
    ax.set_xticks(x, datasets, rotation=20)
    ax.set_ylabel("test accuracy (%)")
    low = 100 * (table["mean"].min() - 0.1)
    ax.set_ylim(max(0, low), min(100, 100 * table["mean"].max() + 5))
    ax.set_title("Test accuracy per dataset (mean ± std over seeds)")
    ax.legend(
        ncol=min(6, len(methods)), fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18)
    )
    _save(fig, out_dir, name)


def difference_heatmap(paired: pd.DataFrame, methods: list[str], out_dir: Path, name: str) -> None:
    from bench.report import _mark  # noqa: PLC0415

    others = [m for m in methods if m in set(paired.method)]
    datasets = sorted(paired.dataset.unique())
    grid = np.full((len(datasets), len(others)), np.nan)
    labels = [["" for _ in others] for _ in datasets]
    for r in paired.itertuples():
        i, j = datasets.index(r.dataset), others.index(r.method)
        grid[i, j] = r.diff_mean
        labels[i][j] = f"{r.diff_mean:+.1f}{_mark(r)}"
    bound = max(1.0, np.nanmax(np.abs(grid)))
    fig, ax = plt.subplots(figsize=(1.3 * len(others) + 2.5, 0.5 * len(datasets) + 1.8))
    image = ax.imshow(grid, cmap="RdBu", vmin=-bound, vmax=bound, aspect="auto")
    for i in range(len(datasets)):
        for j in range(len(others)):
            dark = not np.isnan(grid[i, j]) and abs(grid[i, j]) > 0.6 * bound
            ax.text(
                j,
                i,
                labels[i][j],
                ha="center",
                va="center",
                fontsize=9,
                color="white" if dark else "black",
            )
    ax.set_xticks(range(len(others)), others)
    ax.set_yticks(range(len(datasets)), datasets)
    fig.colorbar(image, ax=ax, label="accuracy - none (points)")
    ax.set_title("Difference to none (* = significant, see tables)")
    _save(fig, out_dir, name)


def accuracy_vs_time(ok: pd.DataFrame, methods: list[str], out_dir: Path, name: str) -> None:
    colour = colours(methods)
    means = (
        ok.groupby(["device", "method"])
        .agg(accuracy=("accuracy", "mean"), seconds=("train_seconds", "mean"))
        .reset_index()
    )
    fig, ax = plt.subplots(figsize=(6, 4))
    markers = "os^Dv<>"
    for d, (_device, group) in enumerate(means.groupby("device")):
        group = group.assign(order=group.method.map(methods.index)).sort_values("order")
        for r in group.itertuples():
            ax.scatter(
                r.seconds,
                100 * r.accuracy,
                color=colour[r.method],
                s=60,
                marker=markers[d % len(markers)],
                label=r.method if d == 0 else None,
            )
            ax.annotate(
                r.method,
                (r.seconds, 100 * r.accuracy),
                fontsize=8,
                xytext=(4, 4),
                textcoords="offset points",
            )
    ax.set_xlabel("mean train time per run (s, evaluation excluded)")
    ax.set_ylabel("mean test accuracy over datasets (%)")
    ax.set_title("Accuracy against training cost")
    ax.legend(fontsize=8)
    _save(fig, out_dir, name)


def memory_bars(ok: pd.DataFrame, methods: list[str], out_dir: Path, name: str) -> None:
    colour = colours(methods)
    med = ok.groupby("method").peak_memory_mb.median().reindex(methods)
    kind = ",".join(sorted(set(ok.peak_memory_kind.dropna())))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar(methods, med.to_numpy(), color=[colour[m] for m in methods])
    ax.set_ylabel(f"peak memory (MiB, {kind})")
    ax.set_title("Peak memory per run (median over runs)")
    ax.tick_params(axis="x", rotation=20)
    _save(fig, out_dir, name)


def calibration(ok: pd.DataFrame, methods: list[str], out_dir: Path, name: str) -> None:
    from bench.report import reliability  # noqa: PLC0415

    colour = colours(methods)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    ece = ok.groupby("method").ece.mean().reindex(methods)
    left.bar(methods, ece.to_numpy(), color=[colour[m] for m in methods])
    left.set_ylabel("ECE (15 bins, mean over runs)")
    left.set_title("Expected calibration error (lower is better)")
    left.tick_params(axis="x", rotation=20)
    right.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect")
    for method in methods:
        curve = reliability(ok, method)
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


def training_curves(ok: pd.DataFrame, methods: list[str], out_dir: Path, name: str) -> None:
    colour = colours(methods)
    datasets = sorted(ok.dataset.unique())
    cols = min(4, len(datasets))
    rows = int(np.ceil(len(datasets) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    for ax, dataset in zip(axes.flat, datasets, strict=False):
        for method in methods:
            curves = [
                pd.DataFrame(r["metrics"]["curves"])
                for r in ok[(ok.dataset == dataset) & (ok.method == method)].record
            ]
            if not curves:
                continue
            mean = pd.concat(curves).groupby("epoch").val_accuracy.mean()
            ax.plot(
                mean.index,
                100 * mean.to_numpy(),
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
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(out_dir / f"{name}.png", dpi=120)
    fig.savefig(out_dir / f"{name}.svg")
    plt.close(fig)


def draw_all(
    ok: pd.DataFrame, methods: list[str], out_dir: Path, suffix: str = ""
) -> Iterator[tuple[str, str]]:
    """Draw every figure; yields (file stem, caption)."""
    from bench.report import paired_rows  # noqa: PLC0415

    present = [m for m in methods if m in set(ok.method)]
    accuracy_bars(ok, present, out_dir, f"accuracy{suffix}")
    yield f"accuracy{suffix}", "Test accuracy per dataset and method, error bars: std over seeds"
    paired = paired_rows(ok)
    if not paired.empty:
        difference_heatmap(paired, present, out_dir, f"difference{suffix}")
        yield f"difference{suffix}", "Accuracy difference to none in points"
    accuracy_vs_time(ok, present, out_dir, f"accuracy_vs_time{suffix}")
    yield f"accuracy_vs_time{suffix}", "Mean accuracy against mean train time"
    memory_bars(ok, present, out_dir, f"memory{suffix}")
    yield f"memory{suffix}", "Peak memory per method"
    calibration(ok, present, out_dir, f"calibration{suffix}")
    yield f"calibration{suffix}", "Calibration: ECE per method and reliability diagram"
    training_curves(ok, present, out_dir, f"curves{suffix}")
    yield f"curves{suffix}", "Training curves: validation accuracy per epoch"
