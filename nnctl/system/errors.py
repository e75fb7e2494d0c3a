"""The one family of exceptions the library raises; the CLI maps each to a message and exit code.
``quote_list``: how every message quotes a list (a few items, and how many more);
``printable``: how a name from the disk is shown."""

from __future__ import annotations

import re
from collections.abc import Collection

MAX_ERROR_LINE = 1000
"""Characters an error line may have, ``error: `` included (``bounded_line``). Messages quote
a few items of a list and 60 characters of a value, so their lines stay far shorter (a few
hundred characters with a long path and the list of valid keys); this bound catches whatever
quotes more, and leaves room for a path as it is."""


class NnctlError(Exception):
    """Base class: bad input or a failed operation that the user can act on. Exit status 2.
    Its text is bounded: each line at most ``MAX_ERROR_LINE`` characters (``bounded_line``)."""

    exit_code = 2

    def __str__(self) -> str:
        return bounded_line(super().__str__())


class ConfigError(NnctlError):
    """A config file or override is invalid."""


class DataError(NnctlError):
    """A dataset file is missing, unreadable or inconsistent."""


class RunError(NnctlError):
    """A run directory cannot be created, found, read or written."""


class RunFailed(RunError):
    """A training stopped by an error after its run directory was made (a bad value met late
    in a streamed file, memory the estimate did not foresee, a disk that filled): the run is
    kept, marked ``failed`` with the reason, and ``run_dir`` names it. Exit status 1, as for
    any run that failed; exit 2 means nothing was written."""

    exit_code = 1

    def __init__(self, message: str, run_dir: object) -> None:
        super().__init__(message)
        self.run_dir = run_dir


class OptionError(ConfigError):
    """A setting given to a library function is refused. ``option`` is the parameter's name
    (e.g. "threshold"); the CLI names its flag in front of ``detail``."""

    def __init__(self, option: str, detail: str) -> None:
        super().__init__(f"{option} {detail}")
        self.option, self.detail = option, detail


class UsageError(NnctlError):
    """A command-line option has an invalid value (e.g. an unknown column to sort by)."""


def quote_list(
    items: Collection[object], limit: int = 5, *, width: int = 40, quoted: bool = False
) -> str:
    """``items`` as a message quotes them: the first ``limit`` joined with ", ", each shown
    printable (newlines and undecodable bytes escaped; ``quoted``: as Python string literals,
    ``'a', 'b'``) and cut to ``width`` characters, then how many more
    (``"a, b, c, d, e ... and 9,992 more"``); "" when empty. A message quoting a list from a
    file (a CSV header, class folders, array names) stays one short line however long the list."""
    shown = []
    for i, item in enumerate(items):
        if i == limit:
            break
        text = str(item)
        text = text if len(text) <= width else text[:width] + "..."
        shown.append(repr(text) if quoted else printable(text))
    more = len(items) - len(shown)
    return ", ".join(shown) + (f" ... and {more:,} more" if more > 0 else "")


def bounded_line(text: str, limit: int = MAX_ERROR_LINE) -> str:
    """``text`` with each line at most ``limit`` characters: in a longer line every word over
    60 characters (a value, a key or a path quoted whole) is cut to 60 and marked ``...``, then
    the line itself if it is still too long; a line within the limit is unchanged. The last
    guard of the rule that an error line is short whatever it quotes."""
    if "\n" in text:
        return "\n".join(bounded_line(line, limit) for line in text.split("\n"))
    if len(text) <= limit:
        return text
    text = re.sub(r"\S{64,}", _cut_word, text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _cut_word(m: re.Match[str]) -> str:
    word = m.group()
    return word[:60] + "..." + (word[-1] if word[-1] in ":;,)'\"" else "")  # keep what follows


def printable(text: str) -> str:
    """``text`` as one line shows it: the bytes of a file name that are not UTF-8 (which Python
    holds as surrogates, ``os.fsdecode``) written ``\\xNN``, and other characters that do not
    print (newlines, tabs) escaped as Python writes them; printable text is itself."""
    if text.isprintable():
        return text
    try:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no file name decodes to
        return repr(text)[1:-1]
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
