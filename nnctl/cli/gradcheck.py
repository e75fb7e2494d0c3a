"""``nnctl gradcheck``: the command and its table and verdict line."""

from __future__ import annotations

import math
from typing import Annotated, Any

import typer

from nnctl.cli.common import (
    EXIT_FAILED,
    JsonOption,
    RunsDirOption,
    err_console,
    handle_errors,
    out_console,
    print_json,
)


def _complete_config_or_run(incomplete: str) -> list[str]:
    from nnctl.cli.complete import config_or_run

    return config_or_run(incomplete)


def _gradcheck_table(report: Any) -> Any:
    """Per parameter array for one network; per group of networks for the suite."""
    from rich import box
    from rich.table import Table

    from nnctl.commands import overall_error

    def err(x: float | None) -> str:
        return "-" if x is None else f"{x:.1e}"

    def verdict(checks: list) -> str:
        if any(c.status == "failed" for c in checks):
            return "[bold red]FAIL[/]"
        return (
            "[yellow]unchecked[/]"
            if any(c.status == "unchecked" for c in checks)
            else "[green]pass[/]"
        )

    table = Table(
        title=f"gradcheck: {report.target}",
        title_justify="left",
        caption_justify="left",
        box=box.SIMPLE,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    if len(report.networks) == 1:
        table.caption = (
            "each array: its coordinates (all, or a random sample) and 1 random direction"
        )
        for col in (
            "parameter",
            "shape",
            "checked",
            "skipped",
            "coord error",
            "dir error",
            "result",
        ):
            table.add_column(
                col,
                justify="left" if col in ("parameter", "shape", "result") else "right",
                no_wrap=col != "result",
            )
        for c in report.checks:
            size = math.prod(c.shape)
            checked = f"{c.coords:,}" + ("" if c.coords == size else f" of {size:,}")
            table.add_row(
                c.parameter,
                "x".join(map(str, c.shape)),
                checked,
                str(c.skipped),
                err(c.coord_error),
                err(c.direction_error),
                verdict([c]),
            )
        table.add_section()
        table.add_row(
            "all",
            "",
            f"{sum(c.coords for c in report.checks):,}",
            str(sum(c.skipped for c in report.checks)),
            err(overall_error(report.checks)),
            "",
            verdict(report.checks)
            if all(c["passed"] for c in report.cost_checks)
            else "[bold red]FAIL[/]",
        )
        return table
    table.caption = (
        "depths 1-4, weight scales 0.5/1/2; 'mixed': 3 different hidden activations in a row"
    )
    for col in ("hidden", "output/loss", "nets", "coords", "max err", "overall", "result"):
        table.add_column(
            col,
            justify="left" if col in ("hidden", "output/loss", "result") else "right",
            no_wrap=col != "result",
        )
    groups: dict[tuple[str, str], list] = {}
    for c in report.checks:
        groups.setdefault(c.group, []).append(c)
    for group, checks in groups.items():
        result = verdict(checks)
        table.add_row(
            *group,
            str(len({c.network for c in checks})),
            f"{sum(c.coords for c in checks):,}",
            err(max(c.max_error for c in checks)),
            err(overall_error(checks)),
            result,
        )
    return table


def _gradcheck_verdict(report: Any) -> str:
    n_arrays, n_nets = len(report.checks), len(report.networks)
    scope = f"{n_arrays} parameter arrays in {n_nets} network{'s' if n_nets != 1 else ''}"
    if report.passed:
        return (
            f"PASSED: {scope}, max relative error {report.max_relative_error:.1e} "
            f"< tolerance {report.tol:g} (eps {report.eps:g})"
        )

    def by_network(checks: list) -> dict[str, list]:
        """Arrays grouped by the network (or suite group) they belong to."""
        groups: dict[str, list] = {}
        for c in checks:
            groups.setdefault(
                c.network if n_nets == 1 else f"{c.group[0]} hidden -> {c.group[1]}", []
            ).append(c)
        return groups

    def names(checks: list) -> str:
        # by layer, then W, b (or batch normalization's gamma, beta): W1, gamma1, beta1, W2, b2
        kinds = ("W", "b", "gamma", "beta")

        def order(p: str) -> tuple[int, int]:
            kind = p.rstrip("0123456789")
            return int(p[len(kind) :]), kinds.index(kind) if kind in kinds else len(kinds)

        return ", ".join(sorted({c.parameter for c in checks}, key=order))

    verdicts = []
    failed, unchecked = report.failures(), report.unchecked()
    bad_costs = [c for c in report.cost_checks if not c["passed"]]
    if failed or bad_costs or not unchecked:
        parts = [
            f"{names(checks)} of {key} (max error {max(c.max_error for c in checks):.1e})"
            for key, checks in by_network(failed).items()
        ]
        parts += [
            f"the cost of {c['network']} differs from the forward pass's "
            f"(error {c['relative_error']:.1e})"
            for c in bad_costs
        ]
        verdicts.append(
            f"FAILED (tolerance {report.tol:g}, eps {report.eps:g}): {'; '.join(parts)}; "
            f"{len(failed)} of {scope} failed"
        )
    if unchecked:
        shown = "; ".join(
            f"{names(checks)} of {key}" for key, checks in by_network(unchecked).items()
        )
        verdicts.append(
            f"UNCHECKED: {shown}: every step crosses a ReLU kink, nothing compared "
            f"({len(unchecked)} of {scope}); {report.unchecked_advice}"
        )
    return "; ".join(verdicts)


@handle_errors
def gradcheck(
    config_or_run: Annotated[
        str | None,
        typer.Argument(
            metavar="CONFIG|RUN",
            help="A YAML config, or a run (id, unique prefix, latest or directory). "
            "Omit it to check the built-in suite of small networks.",
            show_default=False,
            autocompletion=_complete_config_or_run,
        ),
    ] = None,
    examples: Annotated[
        int | None,
        typer.Option(
            "--examples",
            metavar="N",
            help="Training examples used from the dataset [default: 8].",
            show_default=False,
        ),
    ] = None,
    max_coords: Annotated[
        int,
        typer.Option("--max-coords", metavar="N", help="Coordinates sampled per parameter array."),
    ] = 50,
    eps: Annotated[
        float, typer.Option("--eps", metavar="EPS", help="Central-difference step.")
    ] = 1e-5,
    tol: Annotated[
        float, typer.Option("--tol", metavar="TOL", help="Largest relative error that passes.")
    ] = 1e-7,
    seed: Annotated[
        int,
        typer.Option(
            "--seed",
            metavar="N",
            help="Seed of the sampled coordinates, directions and suite data.",
        ),
    ] = 0,
    runs_dir: RunsDirOption = None,
    json_: JsonOption = False,
) -> None:
    """Check the backward pass against central differences of the cost, in float64."""
    from nnctl.commands import check_suite, check_target

    if config_or_run is None:
        report = check_suite(eps=eps, tol=tol, max_coords=max_coords, seed=seed)
        if examples is not None:
            report.notices.insert(
                0, "--examples applies to a config or run; the suite uses its own random examples"
            )
    else:
        report = check_target(
            config_or_run,
            examples=8 if examples is None else examples,
            eps=eps,
            tol=tol,
            max_coords=max_coords,
            seed=seed,
            runs_dir=runs_dir,
        )
    for notice in report.notices:
        err_console().print(f"note: {notice}")
    if json_:
        print_json(report.to_json())
    else:
        out = out_console()
        out.print(_gradcheck_table(report))
        out.print(_gradcheck_verdict(report), markup=False)
    if not report.passed:
        raise typer.Exit(EXIT_FAILED)


EXAMPLES = """\
nnctl gradcheck                          the built-in suite of small networks
nnctl gradcheck configs/cat_deep.yaml    a config's network on 8 of its examples
nnctl gradcheck latest --json            a trained run's parameters
"""
