"""The report's study sections (label noise, per-class budgets, held-out classes): one per
study block present in the records, with the same paired statistics as the main tables,
CSV files and figures. Numbers come from bench.report.analyse.study_analysis; this module
only renders."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from bench.core.studies import find_study
from bench.report.analyse.stats import ALPHA
from bench.report.analyse.study_analysis import (
    StudyAnalysis,
    analyse_study,
    own_cells,
    study_blocks,
)
from bench.report.render import figures
from bench.report.render.findings import POOLED_OVER, study_findings
from bench.report.render.report_text import (
    DIFF_HEADERS,
    aggregate_caption,
    aggregate_headers,
    aggregate_rows,
    difference_rows,
    table_section,
    wide_cells,
)


def caveat(model: str) -> str:
    """What a study block on `model` cannot show."""
    return (
        "What this cannot show: the datasets are the packaged stand-ins (not the official "
        f"benchmark files), the encoder is `{model}` only, training is short (the quick "
        "profile unless the study says otherwise) and there are few seeds. A study on the "
        "official data with BERT-base and the paper's schedule can come out differently."
    )


def analyse_studies(frame: pd.DataFrame) -> list[tuple[pd.DataFrame, StudyAnalysis]]:
    """Every study block of `frame` (records_frame of all records) with its analysis."""
    return [(block, analyse_study(study, block)) for study, _model, block in study_blocks(frame)]


def study_sections(analysed: list[tuple[pd.DataFrame, StudyAnalysis]], out_dir: Path) -> list[str]:
    """The markdown of every analysed study block."""
    lines: list[str] = []
    per_study = Counter(a.study for _, a in analysed)
    seen: Counter[str] = Counter()
    for block, analysis in analysed:
        study, model = analysis.study, analysis.model
        seen[study] += 1
        stem = f"study_{study}" + ("" if per_study[study] == 1 else f"_{seen[study]}")
        entry = find_study(study)
        title, text = (entry.title, entry.text) if entry else (study, "")
        own = analysis.ok[analysis.ok.study == study] if "study" in analysis.ok else analysis.ok
        profile = ", ".join(sorted(set(own.profile))) if not own.empty else "no runs"
        heading = f"## Study: {title} (model `{model}`, profile {profile})"
        lines += [heading, "", text, "", caveat(model), ""]
        lines += seeds_line(block, entry) + study_provenance(block)
        if analysis.ok.empty:
            lines += ["No successful runs.", ""]
            continue
        write_study_tables(analysis, out_dir, stem)
        lines += ["### What the data support", "", *study_findings(analysis), ""]
        lines += study_tables(analysis)
        lines += study_figures(analysis, out_dir, stem)
    return lines


def seeds_line(block: pd.DataFrame, entry) -> list[str]:
    """The planned seeds (declared in the study's entry) and those run, with any run
    beyond the plan and the look after which it was added."""
    if entry is None:
        return []
    own = block[block.study == entry.name]
    trials = own[own.seed.isin(entry.trial_seeds)]
    own = own[~own.seed.isin(entry.trial_seeds)]
    ran = sorted(set(own.seed))
    beyond = sorted(set(ran) - set(entry.seeds))
    text = (
        f"**Seeds**: planned {', '.join(map(str, entry.seeds))} (declared in the study's "
        f"entry); run {', '.join(map(str, ran)) or 'none yet'}"
    )
    extra = [s for s in beyond if s in entry.extra_seeds]
    undeclared = [s for s in beyond if s not in entry.extra_seeds]
    if extra:
        text += f"; beyond the plan: {', '.join(map(str, extra))} ({entry.extra_note})"
    if undeclared:
        text += (
            f"; **undeclared: seed {', '.join(map(str, undeclared))}**, left out of every "
            "table and verdict (a look nobody declared; declare it in the study's entry, "
            "`extra_seeds` with the look after which it ran, to count it)"
        )
    missing = sorted(set(entry.seeds) - set(ran))
    if missing:
        text += f"; not yet run: {', '.join(map(str, missing))}"
    if entry.trials:
        planned = entry.trials * len(entry.methods) * len(entry.datasets)
        text += f"; trials (seeds {entry.trial_seeds[0]}+): {len(trials)} of {planned} run"
    return [text + ".", ""]


def study_provenance(block: pd.DataFrame) -> list[str]:
    """How many runs, which seeds and the commands that made them; the clean cells borrowed
    from the main reference are counted apart (their commands are in its section)."""
    own, borrowed = block[block.study != ""], block[block.study == ""]
    commands = sorted({f"`{r.provenance.command}`" for r in own.record if r.provenance.command})
    text = (
        f"Runs: {len(own)} records ({int((own.status == 'ok').sum())} ok), seeds "
        f"{', '.join(map(str, sorted(set(own.seed))))}; command(s): "
        f"{'; '.join(commands) or 'not in these records'}."
    )
    if not borrowed.empty:
        text += (
            f" The clean cells are {len(borrowed)} records of the main reference (seeds "
            f"{', '.join(map(str, sorted(set(borrowed.seed))))}) with the same settings."
        )
    return [text, ""]


def write_study_tables(a: StudyAnalysis, out_dir: Path, stem: str) -> None:
    a.cells.to_csv(out_dir / f"{stem}_accuracy.csv", index=False)
    a.ece.to_csv(out_dir / f"{stem}_ece.csv", index=False)
    if not a.differences.empty:
        a.differences.to_csv(out_dir / f"{stem}_difference_to_none.csv", index=False)
    if not a.pooled.empty:
        a.pooled.to_csv(out_dir / f"{stem}_pooled.csv", index=False)
    if not a.ood.empty:
        a.ood.to_csv(out_dir / f"{stem}_ood.csv", index=False)
        a.auroc_differences.to_csv(out_dir / f"{stem}_auroc_difference.csv", index=False)


def study_tables(a: StudyAnalysis) -> list[str]:
    n = int(own_cells(a.differences).p.notna().sum()) if not a.differences.empty else 0
    borrowed = not a.differences.empty and (a.differences.get("family") == "main").any()
    lines = table_section(
        "Test accuracy (%) per condition",
        "Mean ± standard deviation over seeds (n); rows are dataset · condition."
        + degenerate_note(a),
        wide_cells(a.accuracy, a.methods, order=a.cell_order),
    )
    if not a.differences.empty:
        lines += table_section(
            "Difference to `none` (accuracy points)",
            f"Paired by seed within each dataset · condition; Holm over the {n} tests of "
            f"this study's own cells; `*` marks p (Holm) < {ALPHA}."
            + (
                " The clean cells are the main reference, shown for comparison: they are "
                "tested, and Holm-adjusted, in the main table (p (Holm) n/a here)."
                if borrowed
                else ""
            ),
            difference_rows(a.differences, a.cell_order),
            DIFF_HEADERS,
        )
    if not a.pooled.empty:
        lines += table_section(
            "Pooled over the study's conditions",
            pooled_caption(a),
            aggregate_rows(a.pooled),
            aggregate_headers("cells"),
        )
    lines += table_section(
        "Expected calibration error (15 bins, lower is better)",
        "",
        wide_cells(a.ece, a.methods, digits=3, best="min", order=a.cell_order),
    )
    if not a.ood.empty:
        lines += ood_tables(a)
    return lines


def degenerate_note(a: StudyAnalysis) -> str:
    """The cells with degenerate runs (not significantly above the majority class, the
    main tables' rule), and how the claims treat them."""
    if "degenerate" not in a.ok or not a.ok.degenerate.any():
        return " No run is degenerate (every run is significantly above the majority class)."
    cells = a.ok.groupby("dataset").degenerate.agg(["sum", "size"])
    flagged = ", ".join(
        f"{d} ({int(r['sum'])}/{int(r['size'])})" for d, r in cells.iterrows() if r["sum"]
    )
    return (
        f" **Degenerate runs** (not significantly above the majority class): {flagged}. The "
        "tables and the claims keep them at their accuracy (they are not dropped); read those "
        "cells' differences as differences between near-chance models."
    )


def ood_tables(a: StudyAnalysis) -> list[str]:
    """The held-out-class detection table and its AUROC differences to `none`."""
    rows = [
        [
            r.dataset,
            r.method,
            r.n,
            f"{r.accuracy:.2f}",
            f"{r.auroc:.2f} ± {r.auroc_sd:.2f}",
            f"{r.fpr95:.2f} ± {r.fpr95_sd:.2f}",
        ]
        for r in a.ood.itertuples()
    ]
    lines = table_section(
        "Out-of-distribution detection (%)",
        "Mean ± standard deviation over seeds; AUROC higher and FPR95 lower is better.",
        rows,
        ["dataset", "method", "seeds", "ID accuracy", "AUROC", "FPR95"],
    )
    if not a.auroc_differences.empty:
        m = int(a.auroc_differences.p.notna().sum())
        lines += table_section(
            "AUROC difference to `none` (points)",
            f"Paired by seed; Holm over the {m} tests of this table.",
            difference_rows(a.auroc_differences),
            DIFF_HEADERS,
        )
    return lines


def pooled_caption(a: StudyAnalysis) -> str:
    """What the pooled table averages, and why its interval is read with care."""
    seeds = a.differences.dropna(subset=["p"]).seeds
    text = aggregate_caption(POOLED_OVER) + " It asks whether a method helps under the study's "
    entry = find_study(a.study)
    if entry is not None and entry.borrows_clean:
        text += "noisy conditions as a whole (the clean cells are left out). "
    else:
        text += "conditions as a whole. "
    text += "The cells are taken as fixed, not as a sample of all possible conditions. "
    if not seeds.empty and seeds.min() < 5:
        text += (
            f"With {seeds.min()} seeds a cell the t-interval has few degrees of freedom and "
            "is wide; an interval that only just excludes 0 is weak evidence."
        )
    return text


def study_figures(a: StudyAnalysis, out_dir: Path, stem: str) -> list[str]:
    present = [m for m in a.methods if m in set(a.ok.method)]
    lines = ["### Figures", ""]
    entry = find_study(a.study)
    if entry is not None and entry.curve is not None and not a.cells.empty:
        xlabel, log_x = entry.curve
        figures.condition_curves(a.cells, present, out_dir, f"{stem}_curves", xlabel, log_x)
        caption = f"Test accuracy against {xlabel}; bars: 95% t-interval over seeds"
        lines += [f"![{caption}]({stem}_curves.png)", "", f"*{caption}*", ""]
    figures.calibration(a.mean_ece, a.reliability, present, out_dir, f"{stem}_calibration")
    caption = "Calibration under the study's conditions: ECE per method and reliability diagram"
    lines += [f"![{caption}]({stem}_calibration.png)", "", f"*{caption}*", ""]
    return lines
