"""``nnctl verify``: replay a run and say whether it came out the same."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from nnctl.cli.common import (
    EXIT_FAILED,
    JsonOption,
    RunArg,
    RunsDirOption,
    handle_errors,
    out_console,
    print_json,
)


@handle_errors
def verify(
    run: RunArg,
    resume_check: Annotated[
        bool,
        typer.Option(
            "--resume-check",
            help="Also replay it interrupted at a step drawn from the run's seed and resumed "
            "from its checkpoint; require the same bits as the uninterrupted replay.",
        ),
    ] = False,
    iterations: Annotated[
        int | None,
        typer.Option(
            "--iterations",
            metavar="N",
            help="Verify only the first N steps: their costs and validation losses (a long run).",
            show_default=False,
        ),
    ] = None,
    rtol: Annotated[
        float | None,
        typer.Option(
            "--rtol",
            metavar="X",
            help="Relative tolerance when the environment differs from the run's "
            "(default: the square root of the dtype's epsilon, 1.5e-8 for float64).",
            show_default=False,
        ),
    ] = None,
    runs_dir: RunsDirOption = None,
    json_: JsonOption = False,
) -> None:
    """Replay a run from its recorded config and data in a temporary folder (the run is not
    touched) and compare: bit for bit when numpy, BLAS, CPU and threads are those the run
    recorded, else within a tolerance. Exit 0 same, 1 different, 2 refused (e.g. its data
    changed)."""
    from nnctl.commands.verify import verify_run
    from nnctl.runs import default_runs_dir, find_run
    from nnctl.system import interrupt

    run_dir = find_run(run, runs_dir or default_runs_dir())
    # SIGTERM (a CI job's timeout) stops the replay as Ctrl-C does: exit 130/143, no verdict
    with interrupt.handle_signals():
        result = verify_run(run_dir, iterations=iterations, resume_check=resume_check, rtol=rtol)
    if json_:
        print_json(result.to_json())
    else:
        out_console().print(_text(result), markup=False, highlight=False)
    if not result.same:
        raise typer.Exit(EXIT_FAILED)


def _text(v: Any) -> str:
    """The verdict as lines: what was replayed, the environment, each array, the verdict."""
    segs = ", ".join(f"{s.how} {s.start}-{s.stop}" for s in v.segments)
    lines = [f"verify {v.run_id}: replayed {v.iterations} of {v.of} steps ({segs})"]
    if v.exact:
        lines.append("environment: as recorded (numpy, BLAS, CPU, threads); compared bit for bit")
    else:
        lines.append(f"environment differs; compared within a relative tolerance of {v.rtol:.2g}")
        lines += [f"  {e.field}: recorded {e.recorded!r}, now {e.now!r}" for e in v.environment]
    lines += _array_lines(v.arrays, v.passes)
    lines += [f"  not compared: {why}" for why in v.not_compared]
    if v.mismatch:
        lines.append(f"  {v.mismatch}")
    rc = v.resume_check
    if rc is not None:
        head = f"resume check: interrupted after step {rc.step} and resumed"
        if rc.rtol is not None:
            lines.append(
                f"{head}: the full-batch fast path trained it, and a resume continues on the "
                f"direct loop (the same to rounding), so compared within {rc.rtol:.2g}"
            )
            lines += _array_lines(rc.arrays, rc.passes)
        elif rc.same:
            lines.append(f"{head}: same bits")
        if rc.rtol is None and not rc.same:
            lines.append(f"{head}: DIFFERENT")
            lines += _array_lines(rc.arrays, rc.passes)
            if rc.mismatch:
                lines.append(f"  {rc.mismatch}")
    if v.same:
        how = "bit for bit" if v.exact else f"within {v.rtol:.2g}"
        resumed = "" if rc is None or rc.rtol is None else f"; its resume within {rc.rtol:.2g}"
        lines.append(f"same: the replay reproduces the run {how}{resumed}")
    else:
        lines.append("DIFFERENT: the replay does not reproduce the run")
    return "\n".join(lines)


def _array_lines(arrays: list, passes: Any) -> list[str]:
    """One line per array; a checkpoint's arrays as one line when they all pass."""
    checkpoint = [d for d in arrays if d.name.startswith("checkpoint.")]
    shown = [d for d in arrays if d not in checkpoint]
    if checkpoint and all(passes(d) for d in checkpoint):
        exact = all(d.equal for d in checkpoint)
        summary = f"{'identical' if exact else 'within tolerance'} ({len(checkpoint)} arrays"
        rows = [(d.name, _array_line(d, passes(d))) for d in shown]
        rows.append(("checkpoint", summary + ": parameters, optimizer, generators, position)"))
    else:
        rows = [(d.name, _array_line(d, passes(d))) for d in [*shown, *checkpoint]]
    width = max((len(name) for name, _ in rows), default=0)
    return [f"  {name:<{width}}  {text}" for name, text in rows]


def _array_line(d: Any, passes: bool) -> str:
    if d.equal:
        return f"identical ({d.size} value{'s' if d.size != 1 else ''})"
    rel = "inf" if d.rel_diff == float("inf") else f"{d.rel_diff:.3g}"
    state = "within tolerance" if passes else "DIFFERS"
    return f"{state}: {d.differing} of {d.size} values differ, largest relative difference {rel}"


EXAMPLES = """\
nnctl verify latest
nnctl verify latest --resume-check
nnctl verify 20250101-120000 --iterations 500 --json
"""
