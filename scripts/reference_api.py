"""The Python API reference's entries (docs/reference/api.md), for scripts/gen_reference.py:
each public name of ``nnctl.__all__`` with its signature (annotations as the source spells
them) and docstring; a class with its public methods and properties; the exceptions and
warnings in one table."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

FIRST = ("train", "load_run", "list_runs", "Run", "TrainProgress")
"""The page's order: these, then the rest (the exceptions and warnings) alphabetically."""


def signature(fn: Callable[..., Any]) -> str:
    """``(config: Any = None, *, runs_dir: str | Path | None = None, ...) -> Run``."""
    sig, parts, star = inspect.signature(fn), [], False
    for p in sig.parameters.values():
        if p.name == "self":
            continue
        if p.kind is p.KEYWORD_ONLY and not star:
            parts.append("*")
        star = star or p.kind in (p.KEYWORD_ONLY, p.VAR_POSITIONAL)
        text = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "") + p.name
        text += "" if p.annotation is p.empty else f": {p.annotation}"
        parts.append(text + ("" if p.default is p.empty else f" = {p.default!r}"))
    ret = "" if sig.return_annotation is sig.empty else f" -> {sig.return_annotation}"
    return f"({', '.join(parts)}){ret}"


def api_body(md: Callable[[str | None], str], table: Callable[..., str]) -> str:
    """The page's Markdown below its intro. ``md``: a docstring as Markdown; ``table(header,
    rows)``: a Markdown table (gen_reference.py's own helpers)."""
    import nnctl

    def entry(heading: str, obj: Any, call: str | None) -> str:
        code = f"```python\n{call}\n```\n\n" if call else ""
        return f"{heading}\n\n{code}{md(obj.__doc__)}\n"

    out, errors = [], []
    for name in sorted(nnctl.__all__, key=lambda n: (FIRST + (n,)).index(n)):
        obj = getattr(nnctl, name)
        if isinstance(obj, type) and issubclass(obj, (BaseException, Warning)):
            base = ", ".join(f"`{b.__name__}`" for b in obj.__bases__)
            errors.append((f"`nnctl.{name}`", base, md(obj.__doc__).split("\n\n")[0].strip()))
        elif inspect.isfunction(obj):
            out.append(entry(f"## `nnctl.{name}`", obj, f"nnctl.{name}{signature(obj)}"))
        elif dataclasses.is_dataclass(obj):
            out.append(entry(f"## `nnctl.{name}`", obj, None))
            out.append("".join(f"- `{f.name}: {f.type}`\n" for f in dataclasses.fields(obj)))
            out.append("\n")
        else:
            out.append(entry(f"## `nnctl.{name}`", obj, f"nnctl.{name}{signature(obj)}"))
            for attr, member in vars(obj).items():
                if isinstance(member, property):
                    out.append(entry(f"### `{name}.{attr}`", member.fget, None))
                elif not attr.startswith("_") and inspect.isfunction(member):
                    out.append(entry(f"### `{name}.{attr}()`", member, attr + signature(member)))
    return "".join(out) + "## Errors and warnings\n\n" + table(("name", "base", "meaning"), errors)
