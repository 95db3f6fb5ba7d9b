"""docs/tutorial.md runs as written: its python blocks are executed in order.

Parts 1 and 4 (simulated cohorts) always run. Parts 2 and 3 (the reaching and the V1 recordings,
fetched by ``sr.datasets``) run only when ``../shared/data/raw`` exists: conftest serves the
original files from there (nothing is downloaded), so the tutorial's code runs exactly as
written. The code runs in a temporary folder, so that the files the tutorial writes do not land
in the project.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"
MARKER = "<!-- part 2: public recordings, fetched by sr.datasets -->"
MARKER_3 = "<!-- part 3: trial-cut recordings, fetched by sr.datasets -->"
STUDY = "<!-- part 4: the study's question (simulated; always runs) -->"
FETCH_LINE = "reaching = sr.datasets.fetch_reaching()"


def _blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def _parts() -> tuple[list[str], list[str], list[str]]:
    text = TUTORIAL.read_text(encoding="utf-8")
    assert text.count(MARKER) == 1 and text.count(MARKER_3) == 1
    simulated, rest = text.split(MARKER)
    reaching, trials = rest.split(MARKER_3)
    trials = trials.split(STUDY)[0]
    return _blocks(simulated), _blocks(reaching), _blocks(trials)


def _study_part() -> list[str]:
    text = TUTORIAL.read_text(encoding="utf-8")
    assert text.count(STUDY) == 1
    return _blocks(text.split(STUDY)[1])


def _run(blocks: list[str], where: Path, monkeypatch) -> dict:
    monkeypatch.chdir(where)
    namespace: dict = {"__name__": "tutorial"}
    for i, code in enumerate(blocks):
        try:
            exec(compile(code, f"{TUTORIAL.name} block {i}", "exec"), namespace)
        finally:
            plt.close("all")
    return namespace


def test_tutorial_has_both_parts():
    simulated, reaching, trials = _parts()
    assert len(simulated) >= 8 and len(reaching) >= 5 and len(trials) >= 5
    assert any(FETCH_LINE in b for b in reaching)
    assert "../shared" not in TUTORIAL.read_text(encoding="utf-8")  # users have no such folder


def test_tutorial_simulated_part(tmp_path, monkeypatch):
    simulated, _, _ = _parts()
    ns = _run(simulated, tmp_path, monkeypatch)
    # what the tutorial claims, checked on what it produced
    assert ns["model"].coef_.shape[1] == ns["truth"].n_components
    assert ns["truth"].max_angle(ns["model"]) < 10
    assert (tmp_path / "tutorial-report" / "index.html").is_file()
    assert (tmp_path / "tutorial-model.npz").is_file()
    assert ns["comparison"].attrs["permutation"] == "between-subject"
    assert ns["comparison"]["p_value"].min() >= 0.1  # 10 labellings: p >= 1/10


def test_tutorial_reaching_part(tmp_path, monkeypatch, raw_data):
    # raw_data (conftest) skips when ../shared/data/raw is absent; the fetcher reads from it
    _, reaching, _ = _parts()
    ns = _run(reaching, tmp_path, monkeypatch)
    # after the unit conversion, the two areas' hand positions have similar spreads
    sd = [ns["np"].asarray(s.behavior).std(axis=0) for s in ns["reaching"]]
    assert (sd[0] / sd[1]).max() < 3 and (sd[1] / sd[0]).max() < 3
    assert (tmp_path / "reaching-report" / "index.html").is_file()
    assert ns["enc"].neurons.groupby("session")["encodes"].mean().min() > 0.5


def test_tutorial_trial_part(tmp_path, monkeypatch, raw_data):
    _, _, trials = _parts()
    ns = _run(trials, tmp_path, monkeypatch)
    cv, blocks = ns["cv"], ns["blocks"]
    best = cv.summary.loc[(cv.n_components, cv.alpha)]
    assert cv.split == "interleaved segments" and cv.n_components > 1
    assert best["r2"] > cv.summary.loc[(0, cv.alpha), "r2"] + 5 * best["se"]  # beats rank 0
    assert blocks.summary["r2"].max() < 0 < best["r2"]  # what the text says of blocks
    assert any("drifts" in str(w.message) for w in ns["caught"])
    assert (ns["tr"].summary.loc[0.2, "difference"] > 0) and ns["tr"].split == cv.split


def test_tutorial_study_part(tmp_path, monkeypatch):
    ns = _run(_study_part(), tmp_path, monkeypatch)
    # what the part claims, checked on what it produced
    tags = ns["tags"]
    exp = tags.effects.loc[("expert", True, "any", "fraction_encoding")]
    assert exp["estimate"] > 0 and exp["p_value"] < 0.01
    assert tags.interaction.loc[(True, "any", "fraction_encoding"), "change"] > 0
    lead = ns["lead"].differences.loc[("expert", "m1 - thalamic_axon")]
    assert lead["difference_s"] > 0 and lead["p_value"] < 0.01
    true = ns["true"].set_index("population").loc["lead"]
    true = true[true["condition"] == "expert"]["peak_lag_s"].item()
    assert lead["ci_low_s"] <= true <= lead["ci_high_s"]
    t = ns["trends"].trends.loc[("m1 - thalamic_axon", "any", "timing")]
    assert t["slope"] > 0 and t["p_value"] < 0.01
    per_animal = ns["trends"].subjects.query(
        "group == 'm1 - thalamic_axon' and measure == 'timing'"
    )["slope"]
    assert (per_animal > 0).all()  # "in every animal"
    assert (tmp_path / "study-report" / "index.html").is_file()
