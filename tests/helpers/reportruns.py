"""Small trained runs shared by the report and export tests (module-scoped: trained once)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from nnctl.cli import app

CONFIGS = Path(__file__).resolve().parent.parent.parent / "configs"

SETTINGS = {
    "cat": ("cat_deep.yaml", ["--set", "iterations=150"]),
    "spiral": ("spiral.yaml", ["--set", "epochs=40"]),
    "spiral_slow": ("spiral.yaml", ["--set", "epochs=40", "--set", "learning_rate=0.003"]),
    "sine": ("sine.yaml", ["--set", "epochs=40"]),
}


def train(name: str, runs_dir: Path, *extra: str) -> Path:
    """Trains SETTINGS[name] into runs_dir and returns its run directory."""
    config, args = SETTINGS[name]
    r = CliRunner().invoke(
        app,
        ["train", str(CONFIGS / config), *args, *extra, "-q", "--runs-dir", str(runs_dir)],
        catch_exceptions=False,
    )
    assert r.exit_code == 0, r.stderr
    return runs_dir / r.stdout.strip()
