"""Config files: read (regular files only, size capped), parsed, overridden and resolved; and a
resolved config written back as YAML.

Layers, in order: the table's defaults, the YAML file, then ``--set KEY=VALUE`` overrides;
validation runs once on the result, so an override is checked exactly like the file. Every
mistake raises ``ConfigError`` with one line naming the file (or override), the key, what was
found and what would be valid.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from nnctl.config.config import Config
from nnctl.config.overrides import apply_overrides
from nnctl.config.parsing import parse_yaml
from nnctl.config.resolution import resolve
from nnctl.system import ConfigError


def load_config(path: str | Path, overrides: list[str] | None = None) -> Config:
    """Reads, overrides and validates a config file. Raises ConfigError."""
    p = Path(path)
    source = str(path)
    from nnctl.system import MAX_CONFIG_BYTES, NotRegularFile, TooLarge, read_capped

    try:
        # A FIFO would block forever and /dev/zero never end: regular files, size capped.
        text = read_capped(p, MAX_CONFIG_BYTES).decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such config file") from None
    except (IsADirectoryError, NotRegularFile) as exc:
        what = (
            "is a directory" if isinstance(exc, IsADirectoryError) else exc.strerror.split(",")[0]
        )
        raise ConfigError(f"{source}: {what}, expected a YAML config file") from None
    except TooLarge as exc:
        raise ConfigError(f"{source}: {exc.strerror}, more than a config may have") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: not a text file (expected UTF-8 YAML)") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror}") from None
    raw = parse_yaml(text, source)
    if overrides:
        raw = apply_overrides(raw, overrides, source)
        source = f"{source} (with --set)"
    return resolve(raw, source, default_name=p.stem, path=str(p.absolute()))


def dump_config(cfg: Config) -> str:
    """The resolved config as YAML; ``load_config`` reads it back to an equal Config."""
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False, default_flow_style=None)
