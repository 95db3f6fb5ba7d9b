"""The README's "whole path" example runs as written, and says what it claims."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]


def test_readme_whole_path_runs(tmp_path, monkeypatch):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## The whole path in a dozen lines", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)
    assert len(code.strip().splitlines()) <= 13
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    truth, model = namespace["truth"], namespace["model"]
    assert model.n_components == truth.n_components  # CV found the true rank
    assert truth.max_angle(model) < 5
    assert namespace["emap"].neurons["encodes"].mean() > 0.8
    assert (tmp_path / "model.npz").is_file()
    assert (tmp_path / "report" / "index.html").is_file()
