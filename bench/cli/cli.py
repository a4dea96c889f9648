"""Command line: parse, plan (methods x datasets x seeds x model), execute, summarise."""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import threading
import time
import typing
from datetime import datetime
from pathlib import Path

from bench.cli.listing import print_list, print_plan, summary_table
from bench.core.config import PROFILES, RunSpec, TrainSettings, choices, flagged_settings
from bench.core.errors import UserError
from bench.core.precision import Precision
from bench.core.records import RunStatus
from bench.core.store import Store
from bench.core.studies import STUDIES, get_study
from bench.report.render.report import write_report
from bench.run import harness
from bench.run.datasets.regimes import held_out_classes, prepare
from bench.run.datasets.registry import DatasetRegistry, build_registry, load_dataset_cached
from bench.run.models import DEFAULT_MODEL, MODEL_ALIASES
from bench.sweep.attempts import WorkerConfig
from bench.sweep.choice import EXECUTORS, ExecutorRequest
from bench.sweep.executors import Outcome
from bench.sweep.planning import (
    Plan,
    SweepRequest,
    check_methods_fit_model,
    make_plan,
    merge_plans,
    settings_overrides,
    study_requests,
)
from bench.tune.planning import tuned_plan

DEFAULT_RESULTS = "results"
# smoke runs check an installation: by default they go to a git-ignored scratch folder,
# so a first look never touches the committed results and report
SMOKE_RESULTS = "smoke-results"
DEFAULT_REPORTS = "reports"


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose errors are one line and exit code 2."""

    def error(self, message: str):  # type: ignore[override]
        one_line = message.replace("\r", "\\r").replace("\n", "\\n")  # argv may hold newlines
        raise UserError(f"{one_line} (see --help)")


def seed_list(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed {text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"seed {value} must be >= 0")
    return value


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="run_bench.py",
        description=(
            "Benchmark mixup methods for transformer text classification under one harness."
        ),
    )
    add_what_to_run(p)
    add_training_settings(p)
    add_execution(p)
    add_files_and_output(p)
    return p


def add_what_to_run(p: ArgumentParser) -> None:
    """Methods, datasets, model, seeds, profile and method options: what the specs hold."""
    p.add_argument(
        "--methods",
        nargs="+",
        metavar="M",
        help="method names, or 'all' (default: all)",
    )
    p.add_argument(
        "--datasets",
        nargs="+",
        metavar="D",
        help="dataset names, or 'all' = every dataset loadable here (default)",
    )
    p.add_argument(
        "--study",
        metavar="NAME",
        help=f"run a named study grid ({', '.join(STUDIES)}; see --list): it fixes the "
        "methods, datasets, profile and settings; --seeds may replace its seeds",
    )
    p.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"alias ({', '.join(MODEL_ALIASES)}), hub id or local folder "
        f"(default: {DEFAULT_MODEL}, packaged, offline)",
    )
    p.add_argument(
        "--seeds",
        nargs="+",
        type=seed_list,
        metavar="S",
        help="run seeds (default: the profile's: smoke/quick 0, paper 0-4)",
    )
    p.add_argument(
        "--profile",
        help=f"training settings: {', '.join(PROFILES)} (default: quick where the device "
        "runs bf16 natively, else quick-fp32: both have a committed reference)",
    )
    p.add_argument(
        "--opt",
        action="append",
        default=[],
        metavar="METHOD.KEY=VALUE",
        help="a method option, e.g. tmix.layers=7,9,12 or amplify.start_layer=3",
    )
    p.add_argument("--alpha", type=float, help="Beta parameter for every mixing method")
    p.add_argument(
        "--lambda-mode",
        choices=("default", "matched"),
        default="default",
        help="matched: every method draws lambda the same way "
        "(Beta(alpha, alpha), one draw, max(l, 1-l); alpha default 0.2)",
    )


def add_training_settings(p: ArgumentParser) -> None:
    """One flag per training setting that has one (`config.flag`): its type, choices and
    help come from the TrainSettings field; a given flag overrides the profile's value."""
    hints = typing.get_type_hints(TrainSettings)
    allowed = choices()
    for setting in flagged_settings():
        kind = hints[setting.name]
        if setting.name in allowed:
            options: dict = {"choices": allowed[setting.name]}
        else:  # int, float, or int | None
            base = next(t for t in typing.get_args(kind) or (kind,) if t is not type(None))
            options = {"type": base}
        if setting.metadata.get("metavar"):
            options["metavar"] = setting.metadata["metavar"]
        p.add_argument(
            "--" + setting.name.replace("_", "-"), help=setting.metadata["help"], **options
        )


def add_execution(p: ArgumentParser) -> None:
    """Where and how runs execute (not part of any spec)."""
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the blocks inside each layer (not the mixing points); pays off "
        "on GPUs for long sweeps; not part of the spec, noted in each record",
    )
    p.add_argument(
        "--threads",
        type=int,
        help="torch CPU threads per run (local pool: default cores / workers; ray: CPUs "
        "a run asks for, default 1)",
    )
    p.add_argument(
        "--executor",
        choices=tuple(EXECUTORS),
        default="local",
        help="where runs execute: local (this machine) or ray (a Ray cluster)",
    )
    p.add_argument(
        "--workers",
        type=workers_arg,
        default=default_workers(),
        help="local executor: worker processes, one per GPU or each with its share of the "
        "CPU cores; 1: runs in this process; auto (the default, or $MIXUP_BENCH_WORKERS): on "
        "a CPU of 2 or more cores with 2 or more runs to do, one worker per core with "
        "--threads (default 1) each, the fastest layout measured; else in this process",
    )
    p.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="ray executor: address of a running cluster, e.g. 10.0.0.1:6379 (default: "
        "$RAY_ADDRESS, else a cluster started here with 'ray start', else a private one)",
    )


def add_files_and_output(p: ArgumentParser) -> None:
    """Results and reports folders, resume behaviour, listing and output."""
    p.add_argument(
        "--data-dir", help="folder of local datasets: DIR/NAME/{train,validation,test}.csv"
    )
    p.add_argument(
        "--results-dir",
        help=f"where records go (default: {DEFAULT_RESULTS}/; for --profile smoke "
        f"{SMOKE_RESULTS}/, git-ignored)",
    )
    p.add_argument(
        "--reports-dir",
        help="where the report goes (default: reports/ for results/, else RESULTS-DIR/report)",
    )
    p.add_argument("--force", action="store_true", help="rerun specs that have a record")
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="rerun only the specs whose record says failed, oom or diverged",
    )
    p.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="allow model code from the hub (off by default)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--no-report", action="store_true", help="do not regenerate reports/")
    p.add_argument(
        "--report", action="store_true", help="only regenerate reports/ from results/ (no training)"
    )
    p.add_argument(
        "--list",
        action="store_true",
        help="list methods (with options), datasets and model aliases",
    )


# ---------------------------------------------------------------- request


def request_from_args(args: argparse.Namespace) -> SweepRequest:
    check_seeds_once(args.seeds)
    overrides = settings_overrides(**{f.name: getattr(args, f.name) for f in flagged_settings()})
    return SweepRequest(
        methods=tuple(args.methods or ["all"]),
        datasets=tuple(args.datasets or ["all"]),
        model=args.model,
        seeds=tuple(args.seeds or ()),
        profile=args.profile or "quick",
        overrides=overrides,
        options=tuple(args.opt),
        alpha=args.alpha,
        lambda_mode=args.lambda_mode,
        force=args.force,
        retry_failed=args.retry_failed,
    )


# what a study fixes: the flags of what to run, and every training setting with a flag
# (--model may replace its encoder, as --seeds its seeds)
STUDY_FIXES = ("methods", "datasets", "profile", "opt", "alpha", "lambda_mode") + tuple(
    f.name for f in dataclasses.fields(TrainSettings)
)


def check_seeds_once(seeds: list[int] | None) -> None:
    repeated = sorted({s for s in seeds or () if list(seeds or ()).count(s) > 1})
    if repeated:
        raise UserError(
            f"--seeds: seed {', '.join(map(str, repeated))} given more than once; give each "
            "seed once"
        )


def make_plan_from_args(
    args: argparse.Namespace, dataset_registry: DatasetRegistry, store: Store
) -> Plan:
    """The plan of a sweep, or of a named study (refusing the flags the study fixes)."""
    if not args.study:
        return make_plan(request_from_args(args), dataset_registry, store)
    study = get_study(args.study)
    check_seeds_once(args.seeds)
    defaults = build_parser().parse_args([])
    given = [
        name
        for name in STUDY_FIXES
        if hasattr(args, name) and getattr(args, name) != getattr(defaults, name)
    ]
    if given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise UserError(
            f"--study {study.name} fixes the methods, datasets, profile and settings: "
            f"drop {flags} (or run without --study)"
        )
    print(f"study {study.name}: {study.question} ({study.runs} runs with its seeds)")
    if study.trials:  # a tuning study: trials, then the winners (bench.tune)
        model = args.model if args.model != defaults.model else None
        seeds = tuple(args.seeds or ())
        return tuned_plan(
            study, dataset_registry, store, seeds, model, args.force, args.retry_failed
        )
    plans = [
        make_plan(
            dataclasses.replace(request, force=args.force, retry_failed=args.retry_failed),
            dataset_registry,
            store,
        )
        for request in study_requests(
            study, tuple(args.seeds or ()), args.model if args.model != defaults.model else None
        )
    ]
    return merge_plans(plans)


def results_dir(args: argparse.Namespace) -> Path:
    """--results-dir, else the git-ignored scratch folder for smoke runs, else results/."""
    if args.results_dir:
        return Path(args.results_dir)
    return Path(SMOKE_RESULTS if args.profile == "smoke" else DEFAULT_RESULTS)


def reports_dir(args: argparse.Namespace) -> Path:
    """--reports-dir, else reports/ for the default results/, else RESULTS/report: a sweep
    into a scratch folder never rewrites the committed report."""
    if args.reports_dir:
        return Path(args.reports_dir)
    if results_dir(args) == Path(DEFAULT_RESULTS):
        return Path(DEFAULT_REPORTS)
    return results_dir(args) / "report"


# ---------------------------------------------------------------- output


def made_in_minutes(store: Store, specs: list[RunSpec]) -> float | None:
    """Minutes the records of `specs` took when they were made (start to end, summed)."""
    hashes = {s.hash for s in specs}
    seconds = [
        (
            datetime.fromisoformat(r.provenance.finished)
            - datetime.fromisoformat(r.provenance.started)
        ).total_seconds()
        for r in store.records()
        if r.spec_hash in hashes
    ]
    return sum(seconds) / 60 if seconds else None


# ---------------------------------------------------------------- main


def run_sweep(args: argparse.Namespace) -> int:
    """--list, --report, or a sweep: plan, check every input, run, summarise, report."""
    store = Store(results_dir(args))
    dataset_registry = build_registry(args.data_dir)
    if args.list:
        print_list(dataset_registry)
        return 0
    if args.report:
        print(f"report written to {write_report(store, reports_dir(args))}")
        return 0
    check_executor_args(args)
    device = harness.Runtime(device=args.device).torch_device()  # --device cuda without CUDA
    args.profile_resolved = args.profile is None and not args.study
    if args.profile_resolved:
        args.profile = default_profile(device)
    plan = make_plan_from_args(args, dataset_registry, store)
    print_plan(plan, store.root, made_in_minutes(store, plan.done))
    outcomes: list[Outcome] = []
    skipped: list[RunSpec] = []
    if plan.todo:
        runtime = harness.Runtime(
            device=args.device,
            progress=not args.no_progress,
            trust_remote_code=args.trust_remote_code,
            threads=args.threads,
            dataset_registry=dataset_registry,
            compile=args.compile,
        )
        check_before_training(plan, runtime, dataset_registry)
        store.check_writable()
        say_profile(args, plan, device)
        resolve_workers(args, device, len(plan.todo))
        runtime.threads = args.threads
        executor = make_executor(args, runtime)  # too many workers, no Ray: fail here
        if not execute(plan, executor, store, args.force, outcomes, skipped):
            return 130
        while args.study and get_study(args.study).trials:  # the winners, once trials end
            attempted = {s.hash for s in plan.todo}
            again = make_plan_from_args(args, dataset_registry, store)
            todo = [s for s in again.todo if s.hash not in attempted]
            if not todo:
                break
            print(f"trials done: {len(todo)} winner run(s) to train at the study's seeds")
            plan = Plan(todo=plan.todo + todo, done=again.done, unavailable=again.unavailable)
            executor = make_executor(args, runtime)  # a run closes its executor's workers
            if not execute(Plan(todo=todo), executor, store, args.force, outcomes, skipped):
                return 130
    records = [r for r in store.records() if r.spec_hash in {s.hash for s in plan.specs}]
    print(summary_table(records))
    if not args.no_report and plan.todo:
        print(f"report written to {write_report(store, reports_dir(args))}")
    elif not args.no_report:
        print(
            "nothing new ran: the report is unchanged (`python run_bench.py --report` rewrites it)"
        )
    return exit_code(plan, outcomes, skipped)


SLOW_BF16_WARNING = (
    "warning: this device has no fast bf16 (a CPU without AVX-512 BF16 or AMX, or a GPU "
    "before Ampere): these bf16 runs are emulated (12-22x slower than fp32 on the CPUs measured); "
    "--profile quick-fp32 (the default here) pairs with the committed fp32 reference"
)
PROFILE_FOR_SLOW_BF16 = "quick-fp32"


def default_profile(device) -> str:
    """The default profile: `quick` (bf16) where the device runs bf16 natively, else
    `quick-fp32`, the same schedule in fp32; both have a committed reference."""
    return "quick" if Precision.BF16.fast_on(device) else PROFILE_FOR_SLOW_BF16


def say_profile(args: argparse.Namespace, plan: Plan, device) -> None:
    """One line when the default profile resolved away from `quick`; one warning when a
    run is about to train in bf16 on a device without fast bf16 (after every check)."""
    if args.profile_resolved and args.profile != "quick":
        print(
            f"profile {args.profile}: this device has no native bf16, so the default job "
            "runs in fp32 (the quick profile's bf16 would be emulated, 12-22x slower); its "
            "runs pair with the committed quick-fp32 reference",
            flush=True,
        )
    slow = {s.settings.precision for s in plan.todo if not s.settings.precision.fast_on(device)}
    if slow:
        print(SLOW_BF16_WARNING, file=sys.stderr, flush=True)


def check_before_training(
    plan: Plan, runtime: harness.Runtime, dataset_registry: DatasetRegistry
) -> None:
    """Every check that needs the device, the model or the data, before the first run:
    a bad device, model, method option or dataset fails here with exit 2, nothing written."""
    runtime.torch_device()  # --device cuda without CUDA
    encoder, _, _ = runtime.backbone(plan.todo[0].model)
    check_methods_fit_model(plan.todo, encoder)  # depth, family
    for name, settings in dict.fromkeys((s.dataset, s.settings) for s in plan.todo):
        dataset = load_dataset_cached(dataset_registry.get(name))
        if settings.ood_classes:  # at least two classes must stay in training
            try:
                held_out_classes(dataset.num_labels, settings.ood_classes)
            except UserError as exc:
                raise UserError(f"{name}: {exc}; lower --ood-classes") from None
        prepare(dataset, settings)  # every split of the run has examples


def execute(
    plan: Plan,
    executor,
    store: Store,
    force: bool,
    outcomes: list[Outcome],
    skipped: list[RunSpec],
) -> bool:
    """Run the plan, printing each run as it ends; False after Ctrl-C (records kept)."""
    started = time.perf_counter()

    def on_done(outcome: Outcome) -> None:
        outcomes.append(outcome)
        record = outcome.record
        detail = (
            f"acc {100 * record.result.metrics.test.accuracy:.2f}%"
            if record is not None and record.ok and record.result is not None
            else outcome.error
        )
        print(
            f"[{len(outcomes)}/{len(plan.todo)}] {outcome.spec.label}: {outcome.status} ({detail})",
            flush=True,
        )

    def on_skip(spec: RunSpec) -> None:
        skipped.append(spec)
        print(f"skipped {spec.label}: another sweep is running or finished it", flush=True)

    try:
        executor.run(plan.todo, store, on_done, on_skip, force=force)
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: {len(outcomes)} of {len(plan.todo)} run(s) finished and "
            f"saved in {store.root}; rerun the same command to resume",
            file=sys.stderr,
        )
        return False
    not_started = len(plan.todo) - len(outcomes) - len(skipped)
    if not_started:
        print(
            f"{not_started} run(s) were not started (the workers stopped); rerun the same "
            "command to run them",
            file=sys.stderr,
        )
    print(f"sweep finished in {time.perf_counter() - started:.1f} s")
    return True


def exit_code(plan: Plan, outcomes: list[Outcome], skipped: list[RunSpec]) -> int:
    """0 when every run finished ok, else 1 with the failed runs listed on stderr."""
    failed = [o for o in outcomes if o.status is not RunStatus.OK]
    if failed:
        print(f"{len(failed)} run(s) did not finish ok:", file=sys.stderr)
        for outcome in failed:
            print(f"  {outcome.spec.label}: {outcome.status}: {outcome.error}", file=sys.stderr)
        if any(o.status is RunStatus.LOST for o in failed):
            print(
                "lost runs have no record: rerun the same command to redo them",
                file=sys.stderr,
            )
        return 1
    return 1 if len(outcomes) + len(skipped) < len(plan.todo) else 0


AUTO = "auto"
WORKERS_ENV = "MIXUP_BENCH_WORKERS"


def workers_arg(text: str) -> int | str:
    """--workers: a count or `auto` (argparse turns a ValueError into a usage error)."""
    return AUTO if text == AUTO else int(text)


def default_workers() -> int | str:
    """$MIXUP_BENCH_WORKERS, else auto."""
    text = os.environ.get(WORKERS_ENV, AUTO)
    try:
        value = workers_arg(text)
    except ValueError:
        value = 0
    if value != AUTO and value < 1:
        raise UserError(f"${WORKERS_ENV}={text!r}: must be auto or a count >= 1; unset it")
    return value


def resolve_workers(args: argparse.Namespace, device, todo: int) -> None:
    """--workers auto: on a CPU of at least 2 cores with at least 2 runs to do, one worker
    process per --threads cores (1 thread each by default: 1.1-1.25x the runs a minute of
    one 2-thread process on 2 cores, benchmarks/README.md), else this process."""
    if args.workers != AUTO:
        return
    cores = len(usable_cores())
    threads = args.threads or 1
    if args.executor == "local" and device.type == "cpu" and todo >= 2 and cores // threads >= 2:
        args.workers, args.threads = cores // threads, threads
    else:
        args.workers = 1


def usable_cores() -> list[int]:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def check_executor_args(args: argparse.Namespace) -> None:
    """Executor flags that do not go together fail before anything runs."""
    if args.threads is not None and args.threads < 1:
        raise UserError(f"--threads {args.threads}: must be at least 1")
    if args.workers == AUTO:
        return
    if args.workers < 1:
        raise UserError(f"--workers {args.workers}: must be at least 1")
    if args.executor == "ray" and args.workers != 1:
        raise UserError(
            "--workers is for --executor local; a Ray cluster runs as many runs at once as "
            "it has GPUs (or CPUs / --threads)"
        )
    if args.executor == "local" and args.ray_address:
        raise UserError("--ray-address needs --executor ray")


def make_executor(args: argparse.Namespace, runtime: harness.Runtime):
    """The executor the flags ask for (the local pool and Ray start their workers here)."""
    config = WorkerConfig(
        device=args.device,
        threads=args.threads,
        trust_remote_code=args.trust_remote_code,
        data_dir=args.data_dir,
        compile=args.compile,
    )
    request = ExecutorRequest(runtime, config, args.workers, args.ray_address)
    return EXECUTORS.lookup(args.executor)(request)


def main(argv: list[str] | None = None) -> int:
    main_thread = threading.current_thread() is threading.main_thread()
    # `kill` stops a sweep as Ctrl-C does: the workers are stopped (not left behind, each
    # holding a model), locks released, finished records kept
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler) if main_thread else None
    try:
        return run_sweep(build_parser().parse_args(argv))
    except UserError as exc:
        print("error: " + str(exc).replace("\n", "\\n"), file=sys.stderr)
        return 2
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
