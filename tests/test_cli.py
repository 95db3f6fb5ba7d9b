"""The ``sharedrep`` command line and the README's two commands."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sharedrep.cli import EXIT_OK, main

ROOT = Path(__file__).resolve().parents[1]


def test_demo_runs_and_writes_tables(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--sessions", "3"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "Principal angles to the true shared representation" in out
    loadings = pd.read_csv(tmp_path / "loadings.csv")
    assert {"feature", "lag", "component", "loadings"} <= set(loadings.columns)
    r2 = pd.read_csv(tmp_path / "r2_per_neuron.csv")
    assert r2["r2"].between(-1, 1).all()


def test_help_and_usage_errors(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "demo" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2


def test_readme_commands_match_ci():
    readme = (ROOT / "README.md").read_text().splitlines()
    block = readme[readme.index("```bash") + 1 : readme.index("```bash") + 3]
    assert "sharedrep demo" in block[0]
    assert "pytest" in block[1]
    ci = (ROOT / ".ci" / "run").read_text()
    # CI runs the README's test command (quiet pip is the only difference)
    assert block[1].replace("pip install -e", "pip install -q -e") in ci
