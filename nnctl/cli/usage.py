"""How nnctl's help screens and usage errors look: one click command and group class for every
command, so each help screen names its arguments the same way (``RUN``, ``INPUT...``,
``CONFIG``) and ends with real examples, and every usage error (unknown option or command, bad
option value, missing argument) is one ``error:`` line on stderr with exit status 2, with a
"did you mean" for a misspelt option or command.

Only typer and click are imported here (rich only once an error is printed), so ``nnctl
--help`` and shell completion stay fast.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Sequence
from typing import Any

import typer.core

# typer ships its own copy of click (typer._click); its commands raise that copy's errors.
from typer._click.core import Context
from typer._click.exceptions import (
    BadParameter,
    ClickException,
    MissingParameter,
    NoArgsIsHelpError,
    NoSuchOption,
    UsageError,
)
from typer._click.formatting import HelpFormatter
from typer.exceptions import Abort

EXIT_USAGE = 2
HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}
"""``-h`` works like ``--help`` on every command (click hands context settings down)."""


def _close(word: str, choices: Sequence[str]) -> str | None:
    """The choice closest to ``word``, if any is close; options compare without their dashes
    (otherwise the shared "--" makes --bogus look like --log)."""
    bare = {c.lstrip("-"): c for c in choices}
    found = difflib.get_close_matches(word.lstrip("-"), list(bare), n=1, cutoff=0.6)
    return bare[found[0]] if found else None


def usage_error_line(exc: UsageError) -> str:
    """One line for a click usage error (without the ``error:`` prefix), naming the command,
    the option or argument and, where one is close, the option or command meant."""
    ctx = exc.ctx
    path = ctx.command_path if ctx is not None else "nnctl"
    if isinstance(exc, NoSuchOption):
        options = sorted(
            {
                o
                for p in (ctx.command.get_params(ctx) if ctx else [])
                for o in getattr(p, "opts", []) + getattr(p, "secondary_opts", [])
                if o.startswith("-")
            }
        )
        near = _close(exc.option_name, options)
        hint = f" (did you mean {near}?)" if near else f"; see '{path} --help'"
        return f"{path}: no such option {exc.option_name}{hint}"
    if isinstance(exc, MissingParameter) and exc.param is not None:
        param = exc.param
        if param.param_type_name == "argument":
            name = param.metavar or (param.name or "").upper()
            return f"{path}: missing argument {name}; see '{path} --help'"
        return f"{path}: missing option {param.opts[0]}"
    if isinstance(exc, BadParameter) and exc.param is not None:
        param = exc.param
        name = (
            param.opts[0]
            if param.param_type_name == "option"
            else (param.metavar or (param.name or "").upper())
        )
        return f"{name}: {exc.message}"
    message = " ".join(exc.format_message().split()).rstrip(".")
    return f"{path}: {message[:1].lower()}{message[1:]}"


def _print_usage_error(line: str) -> None:
    from nnctl.cli.common import print_error

    print_error(line)


def _with_context(parse: Any, ctx: Context, args: list[str]) -> list[str]:
    """click's parser raises some usage errors (an option missing its value) without the
    context; add it, so the error line names the command."""
    try:
        return parse(ctx, args)
    except UsageError as exc:
        if exc.ctx is None:
            exc.ctx = ctx
        raise


class NnctlCommand(typer.core.TyperCommand):
    """A command whose usage line reads ``RUN INPUT...`` (no braces) and whose help ends with
    its examples, printed as written (``epilog`` holds one example per line)."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        return _with_context(super().parse_args, ctx, args)

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        pieces = super().collect_usage_pieces(ctx)
        return [p[1:-1] if p.startswith("{") and p.endswith("}") else p for p in pieces]

    def format_epilog(self, ctx: Context, formatter: HelpFormatter) -> None:
        if self.epilog:
            formatter.write_paragraph()
            formatter.write_text("Examples:")
            with formatter.indentation():
                for line in self.epilog.strip("\n").splitlines():
                    formatter.write(" " * formatter.current_indent + line + "\n")


class TrainCommand(NnctlCommand):
    """``nnctl train``: its help also lists every config key with its meaning and default
    (read from the key table when the help is shown, so it never drifts)."""

    def format_epilog(self, ctx: Context, formatter: HelpFormatter) -> None:
        from nnctl.config import REQUIRED, config_keys

        rows = []
        for name, key in config_keys().items():
            default = (
                " (required)"
                if key.default is REQUIRED
                else ("" if key.default is None else f" [default: {key.default}]")
            )
            rows.append((name, f"{key.doc}{default}"))
        with formatter.section("Config keys"):
            formatter.write_dl(rows)
        super().format_epilog(ctx, formatter)


class NnctlGroup(typer.core.TyperGroup):
    """A command group whose usage errors are one line (see ``NnctlGroup.main``) and whose
    help ends with examples like ``NnctlCommand``'s."""

    format_epilog = NnctlCommand.format_epilog

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        return _with_context(super().parse_args, ctx, args)

    def resolve_command(self, ctx: Context, args: list[str]) -> Any:
        try:
            return self._click_resolve_command(ctx, args)
        except UsageError:
            if not args or args[0].startswith("-"):
                raise
            near = _close(args[0], list(self.commands))
            hint = f" (did you mean {near}?)" if near else f"; commands: {', '.join(self.commands)}"
            raise UsageError(f"no such command {args[0]!r}{hint}", ctx) from None

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Runs the command line like click's standalone mode, except that a usage error is
        one ``error:`` line (click prints a three-line Usage/Try/Error block)."""
        try:
            rv = super().main(args, "nnctl", complete_var, standalone_mode=False, **extra)
        except NoArgsIsHelpError as exc:  # bare `nnctl` or `nnctl runs`: the help screen
            exc.show()
            sys.exit(EXIT_USAGE)
        except UsageError as exc:
            _print_usage_error(usage_error_line(exc))
            sys.exit(EXIT_USAGE)
        except ClickException as exc:
            _print_usage_error(" ".join(exc.format_message().split()))
            sys.exit(exc.exit_code)
        except Abort:
            sys.exit(1)
        # Without standalone mode click returns an Exit's status, or the command's None.
        sys.exit(rv if isinstance(rv, int) else 0)
