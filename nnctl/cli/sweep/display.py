"""What ``nnctl sweep run`` and ``resume`` show while the trials run (stderr): a live table on a
terminal, one plain line per trial otherwise; and how swept values are written in both."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nnctl.cli.common import err_console, fmt

if TYPE_CHECKING:
    from nnctl.sweep import SweepRecord


def value_text(v: Any) -> str:
    """A swept value in a table cell or line ([auto, 16, 3] stays as written: no rich markup)."""
    from rich.markup import escape

    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list):  # as YAML's flow style writes it: [auto, 16, 3]
        return escape("[" + ", ".join(value_text(x) for x in v) + "]")
    import json  # here, not at the top: `nnctl --help` imports no json

    return escape(json.dumps(v) if isinstance(v, dict) else str(v))


def params_text(params: dict[str, Any]) -> str:
    """A trial's swept values, ``key=value`` separated by spaces."""
    return " ".join(f"{k}={value_text(v)}" for k, v in params.items())


class SweepDisplay:
    """A live table of trials on a terminal; one plain line per trial otherwise (stderr).
    Called with each of the engine's ``SweepEvent``s."""

    def __init__(self) -> None:
        self.console = err_console()
        self.live: Any = None
        self.rows: dict[int, tuple] = {}
        self.record: SweepRecord | None = None

    def __call__(self, event: Any) -> None:
        if event.kind == "notice":
            self.console.print(event.message, markup=False)
            return
        if event.kind == "start":
            self.record = r = event.record
            self.console.print(
                f"sweep {r.sweep_id}: {r.n_trials} trials ({r.sampler}, {r.metric} "
                f"{'minimized' if r.direction == 'minimize' else 'maximized'}"
                + (f", {len(r.trials)} done" if r.trials else "")
                + f") on {event.message}"
            )
            if self.console.is_terminal:
                from rich.live import Live

                self.live = Live(
                    self._table(), console=self.console, refresh_per_second=4, transient=False
                )
                self.live.start()
            return
        if event.kind == "sent":
            self.rows[event.trial] = (event.params, "running", None, None)
        elif event.kind == "retry":
            self.rows[event.trial] = (event.params, "retrying", None, None)
            if self.live is None:
                self.console.print(event.message)
        elif event.kind == "done":
            row, best = event.row, event.best
            self.rows[event.trial] = (
                row.params,
                row.status,
                row.value,
                best.value if best else None,
            )
            if self.live is None:
                self._print_done(row, best)
        if self.live is not None:
            self.live.update(self._table())

    def _print_done(self, row: Any, best: Any) -> None:
        """The plain line of a trial that came back (``best``: the best trial so far)."""
        metric = "-" if row.value is None else f"{row.value:.6g}"
        best_text = "-" if best is None else f"{best.value:.6g} (trial {best.trial})"
        extra = (
            f"  ({row.message})"
            if row.status in ("failed", "pruned", "diverged") and row.message
            else ""
        )
        self.console.print(
            f"trial {row.trial:>4}  {params_text(row.params)}  {row.status}  "
            f"{self.record.metric} {metric}  best {best_text}{extra}"  # type: ignore[union-attr]
        )

    def _table(self) -> Any:
        from rich.table import Table

        r = self.record
        table = Table(box=None, pad_edge=False)
        for h in (
            "trial",
            *(r.keys if r else []),
            "status",
            r.metric if r else "metric",
            "best so far",
        ):
            table.add_column(h, justify="right" if h != "status" else "left", no_wrap=True)
        for n, (params, status, value, best) in sorted(self.rows.items()):
            table.add_row(
                str(n),
                *(value_text(params.get(k)) for k in (r.keys if r else [])),
                status,
                fmt(value),
                fmt(best),
            )
        return table

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
