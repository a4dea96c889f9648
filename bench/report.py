"""Reports regenerated from results/ alone: per-dataset mean +- std over seeds."""

from __future__ import annotations

from pathlib import Path

from tabulate import tabulate

from bench.store import Store, records_frame


def write_report(store: Store, out_dir: Path) -> Path:
    """Write reports/REPORT.md and CSV tables from the records in `store`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    frame = records_frame(list(store.records()))
    path = out_dir / "REPORT.md"
    if frame.empty:
        path.write_text("# Mixup benchmark report\n\nNo records yet.\n")
        return path
    ok = frame[frame.status == "ok"]
    table = ok.groupby(["dataset", "method"]).accuracy.agg(["mean", "std", "count"])
    table.to_csv(out_dir / "accuracy.csv")
    rows = [
        [
            d,
            m,
            f"{100 * r['mean']:.2f}",
            "-" if r["count"] < 2 else f"{100 * r['std']:.2f}",
            int(r["count"]),
        ]
        for (d, m), r in table.iterrows()
    ]
    lines = [
        "# Mixup benchmark report",
        "",
        tabulate(rows, headers=["dataset", "method", "acc %", "std", "n"], tablefmt="github"),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path
