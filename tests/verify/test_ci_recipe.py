"""docs/ci/nnctl-verify.yml, the GitHub Actions recipe the verify guide ships: it parses as a
workflow, runs gradcheck and verify, and every nnctl option it uses is one the command has."""

from __future__ import annotations

import re
import shlex

import yaml

from helpers import ROOT

RECIPE = ROOT / "docs" / "ci" / "nnctl-verify.yml"


def nnctl_lines() -> list[list[str]]:
    wf = yaml.safe_load(RECIPE.read_text())
    assert wf["name"] and (wf.get("on") or wf.get(True))  # YAML 1.1 reads `on:` as True
    (job,) = wf["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    runs = [step["run"] for step in job["steps"] if "run" in step]
    out = []
    for text in runs:
        for line in text.splitlines():
            line = re.sub(r"^\w+=\$\((.*)\)$", r"\1", line.strip())  # RUN=$(nnctl train ...)
            if line.startswith("nnctl "):
                out.append(shlex.split(line))
    return out


def test_the_recipe_runs_gradcheck_and_verify_with_options_they_have(cli) -> None:
    lines = nnctl_lines()
    commands = [words[1] for words in lines]
    assert "gradcheck" in commands and "verify" in commands
    assert any(w[1] == "verify" and "--resume-check" in w for w in lines)
    for words in lines:
        r = cli(words[1], "--help")
        assert r.exit_code == 0, words
        for option in (w for w in words if w.startswith("--")):
            assert option in r.stdout, (words[1], option)
