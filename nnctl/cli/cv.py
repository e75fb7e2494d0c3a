"""``nnctl cv``: k-fold cross-validation of a config; its library is ``nnctl.sweep.cv``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from nnctl.cli.common import (
    JsonOption,
    RunsDirOption,
    SetOption,
    ThreadsOption,
    _complete_config,
    dask_options,
    err_console,
    handle_errors,
    out_console,
    print_json,
    print_warning,
)

WorkersOption, SchedulerOption = dask_options("the folds")


@handle_errors
def cv(
    config: Annotated[
        Path,
        typer.Argument(
            metavar="CONFIG",
            help="The YAML config to cross-validate.",
            autocompletion=_complete_config,
        ),
    ],
    folds: Annotated[
        int,
        typer.Option("--folds", "-k", metavar="K", help="Number of folds (at least 2)."),
    ] = 5,
    stratify: Annotated[
        bool | None,
        typer.Option(
            "--stratify/--no-stratify",
            help="Keep each class's share in every fold [default: on for classifiers].",
            show_default=False,
        ),
    ] = None,
    suspects: Annotated[
        int,
        typer.Option(
            "--suspects",
            metavar="N",
            min=0,
            help="List the N examples whose out-of-fold prediction most confidently "
            "contradicts their label.",
        ),
    ] = 0,
    set_: SetOption = None,
    threads: ThreadsOption = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    json_: JsonOption = False,
    runs_dir: RunsDirOption = None,
) -> None:
    """Train the config K times, each time on all but one fold of its training data with that
    fold as the validation data; print the mean and standard deviation of every validation
    score over the folds and save the out-of-fold predictions. Each fold is an ordinary run
    (predict, evaluate, report read it), linked to the cv record. The folds run one after
    another, or as Dask tasks with --workers or --scheduler (the same folds, seeds and
    results). No fold is chosen as the best. Exit 1: a fold's run diverged (the statistics are
    over the others) or a fold failed (its worker died twice; the folds done are kept); 2: bad
    config, --folds or cluster options (nothing written)."""
    from nnctl.api import resolve_config
    from nnctl.runs import default_runs_dir
    from nnctl.runs.cvdir import suspects as find_suspects
    from nnctl.sweep.cv import NOT_CHOSEN, run_cv

    cfg = resolve_config(config, {}, sets=set_ or [])
    where = runs_dir or default_runs_dir()
    err = err_console()

    def on_fold(f: Any) -> None:
        val = {k: v for k, v in f.scores.items() if k.startswith("val_")}
        shown = "  ".join(f"{k} {_num(v)}" for k, v in sorted(val.items()))
        err.print(
            f"fold {f.fold}/{f.k}: run {f.run_id} ({f.status}, {f.n_train} train, "
            f"{f.n_val} val)  {shown}",
            highlight=False,
        )

    parallel = workers is not None or scheduler is not None

    def on_start(cv_id: str, m: int, stratified: bool) -> None:
        how = "stratified " if stratified else ""
        when = "on Dask" if parallel else "one after another"
        err.print(
            f"cv {cv_id}: {folds} {how}folds of {m} training examples, {when}",
            highlight=False,
        )
        if parallel and live:
            _folds_bar(bar, err, folds)

    from nnctl.cli.display import animate

    bar: dict[str, Any] = {}

    def on_step(fold: int, i: int, total: int) -> None:
        if bar.get("fold") != fold:
            _stop(bar)
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            p = Progress(
                TextColumn(f"fold {fold}/{folds}"),
                BarColumn(bar_width=20),
                MofNCompleteColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=err,
                transient=True,
            )
            bar.update(fold=fold, progress=p, task=p.add_task("fold", total=total))
            p.start()
        if i % 10 == 0 or i == total - 1:
            bar["progress"].update(bar["task"], completed=i + 1)

    def fold_done(f: Any) -> None:
        if parallel:  # one bar of the folds done, above which each fold's line is printed
            on_fold(f)
            if bar.get("progress") is not None:
                bar["progress"].advance(bar["task"])
            return
        _stop(bar)
        on_fold(f)

    def on_notice(line: str) -> None:  # stderr, with --json too: a lost worker is news
        err.print(line, highlight=False, markup=False)

    live = not json_ and animate(err)
    try:
        record, cv_dir = run_cv(
            cfg,
            folds,
            where,
            stratify=stratify,
            threads=threads,
            workers=workers,
            scheduler=scheduler,
            on_fold=None if json_ else fold_done,
            on_start=None if json_ else on_start,
            on_step=on_step if live and not parallel else None,
            on_notice=on_notice,
        )
    finally:
        _stop(bar)
    found = find_suspects(cv_dir, suspects) if suspects else []
    if json_:
        print_json(
            {
                **record.to_json(),
                "cv_dir": str(cv_dir),
                "suspects": [s.__dict__ for s in found],
            }
        )
    else:
        _print(record, cv_dir, found, NOT_CHOSEN)
    bad = record.incomplete
    if bad:
        print_warning(
            f"{len(bad)} of {record.folds} folds did not complete ("
            + ", ".join(f"fold {r['fold']}: {r['status']}" for r in bad)
            + "): the statistics are over the others, and their examples have no out-of-fold "
            "prediction"
        )
        raise typer.Exit(1)


def _folds_bar(bar: dict[str, Any], err: Any, folds: int) -> None:
    """The live bar of folds done (Dask: they finish in any order, each in one piece)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    p = Progress(
        TextColumn("folds done"),
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        console=err,
        transient=True,
    )
    bar.update(fold=0, progress=p, task=p.add_task("folds", total=folds))
    p.start()


def _stop(bar: dict[str, Any]) -> None:
    if bar.get("progress") is not None:
        bar["progress"].stop()
    bar.clear()


def _num(v: Any) -> str:
    return "-" if not isinstance(v, (int, float)) else f"{v:.6g}"


def _print(record: Any, cv_dir: Path, found: list[Any], note: str) -> None:
    from rich.box import SIMPLE_HEAD
    from rich.table import Table

    console = out_console()
    t = Table(
        title=f"cv {record.cv_id}: {record.folds} folds of {record.n_examples} examples"
        + (" (stratified)" if record.stratify else ""),
        title_justify="left",
        box=SIMPLE_HEAD,
        show_edge=False,
    )
    t.add_column("score")
    for h in ("mean", "std", *(f"fold {i + 1}" for i in range(record.folds))):
        t.add_column(h, justify="right")
    for name, m in record.metrics.items():
        t.add_row(name, _num(m["mean"]), _num(m["std"]), *(_num(v) for v in m["folds"]))
    console.print(t)
    console.print(f"std: the sample standard deviation over the folds; {note}", soft_wrap=True)
    console.print(f"runs: {' '.join(r['run_id'] for r in record.runs)}", soft_wrap=True)
    console.print(f"out-of-fold predictions: {cv_dir / 'oof.csv'} ({cv_dir / 'oof.npz'})")
    if not found:
        return
    s = Table(
        title="suspect labels (out-of-fold prediction disagrees; lowest p(label) first)",
        title_justify="left",
        box=SIMPLE_HEAD,
        show_edge=False,
    )
    for h in ("index", "fold", "label", "predicted", "p(label)", "p(predicted)"):
        s.add_column(h, justify="right" if h in ("index", "fold") or h.startswith("p") else "left")
    for x in found:
        s.add_row(
            str(x.index),
            str(x.fold),
            x.label,
            x.predicted,
            f"{x.p_label:.4f}",
            f"{x.p_predicted:.4f}",
        )
    console.print()
    console.print(s)
    console.print("index: the example's column in the config's training data, as loaded")


EXAMPLES = """\
nnctl cv configs/moons.yaml --folds 5
nnctl cv configs/cat_2layer.yaml -k 5 --suspects 10     the likeliest mislabelled examples
nnctl cv configs/moons.yaml -k 5 --workers 2        the folds on a local Dask cluster
"""
