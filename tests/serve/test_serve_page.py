"""``GET /``: the page to try the models, in headless Chromium at desktop and phone width:
it lists the models, predicts typed feature values and a picked or dropped image with the
API's answers shown as text and bars, makes no request outside the server, breaks no CSP rule
and is never wider than the screen."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from helpers.serving import image_pixels, png

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
SHOTS = Path(__file__).resolve().parent.parent.parent / "build" / "serve-screenshots"


def test_the_page_is_self_contained_under_its_csp(server) -> None:
    r = server.client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "http" not in r.text.replace("http-equiv", "")  # no address outside the server
    assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.browser
@pytest.mark.parametrize(
    "viewport",
    [{"width": 1200, "height": 900}, {"width": 400, "height": 800}],
    ids=["desktop", "phone"],
)
def test_the_page_predicts_in_headless_chromium(server, trained, viewport, tmp_path: Path) -> None:
    if CHROMIUM is None:
        reason = "Chromium is not installed (apt-get install chromium); .ci/run installs it"
        if os.environ.get("NNCTL_REQUIRE_BROWSER"):
            pytest.fail(reason + " but NNCTL_REQUIRE_BROWSER is set")
        pytest.skip(reason)
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (the test extra)")
    _, _, moons, images = trained
    picture = tmp_path / "light.png"
    picture.write_bytes(png(image_pixels(31)))
    rows = server.client.post(f"/v1/models/{moons.name}/predict", json={"inputs": [[0.5, -0.3]]})
    seen = server.client.post(
        f"/v1/models/{images.name}/predict?name=light.png",
        content=picture.read_bytes(),
        headers={"Content-Type": "image/png"},
    )
    problems: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport=viewport)
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}"))
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
            page.on(
                "request",
                lambda r: (
                    None
                    if r.url.startswith((server.url, "blob:"))
                    else problems.append(f"request: {r.url}")
                ),
            )
            page.goto(server.url + "/", wait_until="load")
            page.wait_for_selector("body[data-ready=yes]")
            assert page.locator("#model option").count() == 2

            page.select_option("#model", moons.name)
            page.fill("#rows", "0.5, -0.3")
            page.click("#predict")
            page.wait_for_selector(".result")
            want = rows.json()[0]
            title = page.text_content(".result h2")
            assert title == f"inputs[0]: {want['class']} ({want['probability']:.4f})"
            assert page.locator(".result .bar").count() == 2
            assert page.locator(".bar .name").all_text_contents() == ["upper", "lower"]

            page.fill("#rows", "0.5")
            page.click("#predict")
            page.wait_for_selector("#error:not(:empty)")
            assert "has 1 value(s), but the run expects 2 features" in page.text_content("#error")

            page.select_option("#model", images.name)
            page.set_input_files("#file", str(picture))
            page.wait_for_selector(".result")
            want = seen.json()[0]
            assert page.text_content(".result h2") == (
                f"light.png: {want['class']} ({want['probability']:.4f})"
            )
            # dropped on the drop zone, as a file dragged from the desktop
            dropped = page.evaluate_handle(
                """(bytes) => {
                  const t = new DataTransfer();
                  t.items.add(new File([new Uint8Array(bytes)], "dropped.png",
                                       { type: "image/png" }));
                  return t;
                }""",
                list(picture.read_bytes()),
            )
            page.dispatch_event("#drop", "dragover", {"dataTransfer": dropped})
            assert "over" in page.get_attribute("#drop", "class")
            page.dispatch_event("#drop", "drop", {"dataTransfer": dropped})
            page.wait_for_selector(".result h2:text-matches('^dropped.png: ')")
            assert page.text_content(".result h2") == (
                f"dropped.png: {want['class']} ({want['probability']:.4f})"
            )
            assert page.locator(".result .bar").count() == 2
            assert "over" not in page.get_attribute("#drop", "class")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], f"{width}px wide"
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"page-{viewport['width']}.png"), full_page=True)
        finally:
            browser.close()
    # the error answer (400) shows as a failed resource in Chromium's console; nothing else may
    expected = "console error: Failed to load resource: the server responded with a status of 400"
    assert [m for m in problems if not m.startswith(expected)] == []
