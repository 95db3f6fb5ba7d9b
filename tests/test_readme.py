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


def _section_code(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(f"## {title}", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)


def test_readme_your_own_data_runs(tmp_path, monkeypatch):
    """The "Your own data" block, on arrays made here: a session written and read back."""
    import numpy as np

    rng = np.random.default_rng(0)
    trial_id = np.repeat(np.arange(10), 30)
    namespace = {
        "sr": __import__("sharedrep"),
        "behavior": rng.normal(size=(300, 2)),
        "neural": rng.normal(size=(300, 5)),
        "trial_id": trial_id,
        "t_from_cue": np.tile(np.arange(30) / 30.0 - 0.2, 10),
    }
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sessions").mkdir()
    exec(compile(_section_code("Your own data"), "README.md", "exec"), namespace)
    cohort = namespace["cohort"]
    (s,) = cohort
    assert s.name == "m1_day3" and s.condition == "expert" and s.rate == 30.0
    assert s.feature_names == ("lever", "lick")
    np.testing.assert_array_equal(s.segments, trial_id)
    np.testing.assert_array_equal(np.asarray(s.neural), namespace["neural"])


def test_readme_example_data_runs(raw_data):
    """The "Example data" block (files served from ../shared/data/raw by conftest)."""
    namespace: dict = {"sr": __import__("sharedrep")}
    exec(compile(_section_code("Example data"), "README.md", "exec"), namespace)
    assert len(namespace["reaching"]) == 2 and len(namespace["v1"]) == 7
    assert namespace["v1"][0].covariate_names == ("running_speed", "pupil_z")
