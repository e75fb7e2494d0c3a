"""The one family of exceptions the library raises; the CLI maps each to a message and exit code."""


class NnctlError(Exception):
    """Base class: bad input or a failed operation that the user can act on. Exit status 2."""

    exit_code = 2


class ConfigError(NnctlError):
    """A config file or override is invalid."""


class DataError(NnctlError):
    """A dataset file is missing, unreadable or inconsistent."""


class RunError(NnctlError):
    """A run directory cannot be created, found, read or written."""


class OptionError(ConfigError):
    """A setting given to a library function is refused. ``option`` is the parameter's name
    (e.g. "threshold"); the CLI names its flag in front of ``detail``."""

    def __init__(self, option: str, detail: str) -> None:
        super().__init__(f"{option} {detail}")
        self.option, self.detail = option, detail


class UsageError(NnctlError):
    """A command-line option has an invalid value (e.g. an unknown column to sort by)."""
