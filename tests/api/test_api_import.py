"""``import nnctl`` stays free: the public names are imported on first use (no numpy, no rich),
``nnctl.__all__`` lists them, each is typed and documented, and ``nnctl --help`` does not load
the API."""

from __future__ import annotations

import inspect
import subprocess
import sys

import nnctl


def _loaded_after(code: str) -> set[str]:
    r = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys; print(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    return set(r.stdout.split())


def test_import_nnctl_loads_no_numpy_and_no_rich() -> None:
    loaded = _loaded_after("import nnctl; nnctl.NnctlError; nnctl.__version__")
    assert "numpy" not in loaded and "rich" not in loaded and "nnctl.api" not in loaded


def test_the_cli_does_not_load_the_api() -> None:
    loaded = _loaded_after(
        "import sys; sys.argv = ['nnctl', '--help']\nfrom nnctl.cli import main\n"
        "try: main()\nexcept SystemExit: pass"
    )
    assert "nnctl.api" not in loaded and "numpy" not in loaded


def test_all_lists_the_public_names_and_each_resolves() -> None:
    assert {"train", "load_run", "list_runs", "Run", "NnctlError", "TrainingInterrupted"} <= set(
        nnctl.__all__
    )
    for name in nnctl.__all__:
        assert getattr(nnctl, name) is not None
    assert set(nnctl.__all__) <= set(dir(nnctl))
    assert issubclass(nnctl.DataValueError, nnctl.DataError) and issubclass(
        nnctl.DataValueError, ValueError
    )
    assert issubclass(nnctl.DataTypeError, TypeError)
    assert issubclass(nnctl.TrainingInterrupted, KeyboardInterrupt)
    assert issubclass(nnctl.ConfigError, nnctl.NnctlError)


def test_public_functions_and_methods_are_typed_and_documented() -> None:
    items = [nnctl.train, nnctl.load_run, nnctl.list_runs]
    items += [
        m
        for name, m in vars(nnctl.Run).items()
        if not name.startswith("_") and callable(m) and inspect.isfunction(m)
    ]
    for fn in items:
        sig = inspect.signature(fn)
        assert fn.__doc__, fn.__qualname__
        assert sig.return_annotation is not inspect.Signature.empty, fn.__qualname__
        for p in sig.parameters.values():
            if p.name != "self" and p.kind is not p.VAR_KEYWORD:
                assert p.annotation is not inspect.Parameter.empty, (fn.__qualname__, p.name)
