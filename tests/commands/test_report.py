"""``nnctl report``: the page's sections and numbers, its self-containedness, its errors, and
the page as a real browser shows it (headless Chromium, skipped when not installed)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from helpers.reportruns import train

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _need_chromium() -> None:
    """Skips (or fails, where CI installed Chromium and set NNCTL_REQUIRE_BROWSER=1) without it."""
    if CHROMIUM is None:
        reason = "Chromium is not installed (apt-get install chromium); .ci/run installs it"
        if os.environ.get("NNCTL_REQUIRE_BROWSER"):
            pytest.fail(reason + " but NNCTL_REQUIRE_BROWSER is set")
        pytest.skip(reason)


SHOTS = Path(__file__).resolve().parent.parent.parent / "build" / "report-screenshots"


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("report") / "runs"


@pytest.fixture(scope="module")
def spiral(runs_dir: Path) -> Path:
    return train("spiral", runs_dir)


@pytest.fixture(scope="module")
def spiral_slow(runs_dir: Path) -> Path:
    return train("spiral_slow", runs_dir)


@pytest.fixture(scope="module")
def sine(runs_dir: Path) -> Path:
    return train("sine", runs_dir)


def _report(cli, out: Path, *runs: Path) -> str:
    r = cli("report", *runs, "-o", out)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.strip() == str(out)
    return out.read_text()


def _self_contained(page: str) -> None:
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert all(s.startswith(("data:image/png;base64,", "#")) for s in sources), sources


def _summary(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


def test_cat_report_shows_the_runs_numbers_and_its_mislabelled_images(
    cli, cat_dir: Path, tmp_path: Path
) -> None:
    run = train("cat", tmp_path / "runs")
    s = _summary(run)
    page = _report(cli, tmp_path / "cat.html", run)
    _self_contained(page)
    for section in (
        "Learning curve",
        "Test scores",
        "confusion matrix",
        "Misclassified test images",
        "Config",
        "where it came from",
    ):
        assert section in page
    assert f'<b class="test-accuracy">{s["test_accuracy"]:.6f}</b>' in page
    assert "12288 → 20 → 7 → 5 → 1" in page and "245,973 parameters" in page
    assert s["dataset"]["sources"][0]["sha256"] in page
    wrong = round((1 - s["test_accuracy"]) * s["dataset"]["n_test"])
    shown = min(wrong, 24)
    assert page.count('<figure class="err">') == shown
    assert page.count("data:image/png;base64,") == shown


def test_softmax_report_has_validation_curves_and_both_splits(
    cli, spiral: Path, tmp_path: Path
) -> None:
    s = _summary(spiral)
    page = _report(cli, tmp_path / "spiral.html", spiral)
    _self_contained(page)
    assert "validation loss" in page and "validation accuracy" in page
    assert f'<b class="test-accuracy">{s["test_accuracy"]:.6f}</b>' in page
    assert f'<b class="val-accuracy">{s["val_accuracy"]:.6f}</b>' in page
    assert "per-batch cost (faint) and its moving average" in page
    assert "Misclassified test images" not in page  # feature vectors: nothing to show


def test_regression_report_has_scatter_and_residuals(cli, sine: Path, tmp_path: Path) -> None:
    s = _summary(sine)
    page = _report(cli, tmp_path / "sine.html", sine)
    _self_contained(page)
    assert "predicted vs true" in page and "residuals" in page
    assert f'<b class="test-r2">{s["test_r2"]:.6f}</b>' in page
    assert "confusion matrix" not in page


def test_two_runs_are_compared(cli, spiral: Path, spiral_slow: Path, tmp_path: Path) -> None:
    page = _report(cli, tmp_path / "cmp.html", spiral, spiral_slow)
    _self_contained(page)
    assert 'id="comparison"' in page and "Config keys that differ" in page
    assert "spiral learning_rate=0.01" in page and "spiral learning_rate=0.003" in page
    assert page.count("<section") == 3


def test_train_report_writes_report_html_into_the_run(cli, tmp_path: Path) -> None:
    run = train("sine", tmp_path / "runs", "--report")
    _self_contained((run / "report.html").read_text())


def test_bad_input_is_one_line_exit_2_and_nothing_written(
    cli, spiral: Path, tmp_path: Path
) -> None:
    for args, words in [
        (["no-such-run", "-o", tmp_path / "r.html"], "no run with this id"),
        ([spiral, "-o", tmp_path / "missing" / "r.html"], "does not exist"),
        ([spiral, "-o", tmp_path], "is a directory"),
    ]:
        r = cli("report", *args)
        assert r.exit_code == 2, r.stderr
        assert r.stderr.startswith("error:") and r.stderr.count("\n") == 1 and words in r.stderr
        assert "Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.browser
def test_reports_open_in_headless_chromium_without_errors(
    cli, cat_dir: Path, spiral: Path, spiral_slow: Path, sine: Path, tmp_path: Path
) -> None:
    """Each page loads from disk with no console message of level error or warning, no failed
    request and no request but file: and data:; a screenshot of each goes to build/."""
    _need_chromium()
    if os.environ.get("NNCTL_REQUIRE_BROWSER"):
        import playwright.sync_api as sync_api
    else:
        sync_api = pytest.importorskip(
            "playwright.sync_api", reason="playwright is not installed (the test extra)"
        )
    cat = train("cat", tmp_path / "runs")
    pages = {"cat": [cat], "spiral": [spiral], "sine": [sine], "compare": [spiral, spiral_slow]}
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for name, runs in pages.items():
                out = tmp_path / f"{name}.html"
                _report(cli, out, *runs)
                for device, viewport in (
                    ("desktop", {"width": 1200, "height": 900}),
                    ("phone", {"width": 400, "height": 800}),
                ):
                    problems: list[str] = []
                    page = browser.new_page(viewport=viewport)
                    page.on(
                        "console",
                        lambda m, problems=problems: (
                            problems.append(f"console {m.type}: {m.text}")
                            if m.type in ("error", "warning")
                            else None
                        ),
                    )
                    page.on(
                        "pageerror",
                        lambda e, problems=problems: problems.append(f"page error: {e}"),
                    )
                    page.on(
                        "requestfailed",
                        lambda r, problems=problems: problems.append(f"failed: {r.url}"),
                    )
                    page.on(
                        "request",
                        lambda r, problems=problems: (
                            problems.append(f"request: {r.url}")
                            if not r.url.startswith(("file:", "data:"))
                            else None
                        ),
                    )
                    page.goto(out.as_uri(), wait_until="load")
                    assert page.title().startswith("nnctl report")
                    # nothing wider than the screen: a phone scrolls down, never sideways
                    width = page.evaluate("document.documentElement.scrollWidth")
                    assert width <= viewport["width"], f"{name} on {device}: {width}px wide"
                    page.screenshot(path=str(SHOTS / f"{name}-{device}.png"), full_page=True)
                    page.close()
                    assert problems == [], f"{name} on {device}: {problems}"
        finally:
            browser.close()


@pytest.mark.browser
def test_the_browser_check_catches_a_network_reference(tmp_path: Path) -> None:
    """The checks above fail a page that reaches for the network (the report's CSP turns any
    such reference into a console error as well)."""
    _need_chromium()
    if os.environ.get("NNCTL_REQUIRE_BROWSER"):
        import playwright.sync_api as sync_api
    else:
        sync_api = pytest.importorskip(
            "playwright.sync_api", reason="playwright is not installed (the test extra)"
        )
    from nnctl.commands import CSP

    bad = tmp_path / "bad.html"
    bad.write_text(
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}"><img src="https://example.invalid/x.png">'
    )
    problems: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("console", lambda m: problems.append(m.type) if m.type == "error" else None)
        page.goto(bad.as_uri(), wait_until="load")
        browser.close()
    assert "error" in problems
