"""The study's analyses in figures, the report, the configuration and the command line."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import sharedrep as sr
from sharedrep.cli import EXIT_OK, EXIT_USAGE, main
from sharedrep.config import ConfigError, read_config
from study_fixtures import MOVEMENT, conditions_study, days_study


@pytest.fixture(scope="module")
def results():
    cohort, _, model, enc = conditions_study()
    groups = sr.compare_groups(
        model, cohort, "thalamus_driven", where="population == 'm1'", encoding=enc, n_perm=200,
        n_boot=200,
    )  # fmt: skip
    pops = sr.compare_populations(model, cohort, features=MOVEMENT, n_perm=200, n_boot=200)
    dcohort, _, dmodel, denc = days_study()
    trends = sr.learning_trends(
        dmodel, dcohort, by="population", encoding=denc, features=MOVEMENT, n_perm=200, n_boot=200
    )
    return groups, pops, trends


def test_groups_figure_draws_the_table(results):
    groups = results[0]
    fig = sr.plot.groups(groups)
    assert isinstance(fig, matplotlib.figure.Figure)
    right = fig.axes[1]
    points = [c.lines[0].get_ydata()[0] for c in right.containers]  # estimate, then the change
    want = groups.effects.xs((True, "any", "fraction_encoding"),
                             level=("group", "component", "measure"))["estimate"]  # fmt: skip
    np.testing.assert_allclose(points[:2], want.loc[["naive", "expert"]])
    change = groups.interaction.loc[(True, "any", "fraction_encoding"), "change"]
    assert points[2] == pytest.approx(change)
    plt.close(fig)
    with pytest.raises(ValueError, match="labelled groups"):
        sr.plot.groups(type(groups)(groups.effects, None, groups.sessions, groups.subjects,
                                    {**groups.attrs, "kind": "numeric"}))  # fmt: skip


def test_populations_figure_one_line_per_animal(results):
    pops = results[1]
    fig = sr.plot.populations(pops)
    left, right = fig.axes
    assert len([ln for ln in left.lines if len(ln.get_xdata()) > 2]) == 4  # 2 pops x 2 conditions
    animals = [ln for ln in right.lines if ln.get_marker() == "o" and len(ln.get_xdata()) == 2]
    assert len(animals) == pops.attrs["n_subjects"]
    # in milliseconds: the pooled point is the table's difference times 1000 / rate
    rate = pops.attrs["rate"]
    pooled = [c.lines[0].get_ydata()[0] for c in right.containers]
    want = pops.differences["difference"].to_numpy() * 1000 / rate
    np.testing.assert_allclose(pooled, want)
    plt.close(fig)


def test_learning_figure_one_line_per_animal_and_the_trend(results):
    trends = results[2]
    fig = sr.plot.learning(trends, ["fraction_encoding", "timing"], group="thalamic_axon")
    assert len(fig.axes) == 2
    ax = fig.axes[0]
    assert len(ax.lines) == 4 + 1  # four mice and the trend
    trend_line = ax.lines[-1]
    x, y = trend_line.get_xdata(), trend_line.get_ydata()
    slope = trends.trends.loc[("thalamic_axon", "any", "fraction_encoding"), "slope"]
    assert (y[1] - y[0]) / (x[1] - x[0]) == pytest.approx(slope)
    plt.close(fig)
    with pytest.raises(ValueError, match="no sessions"):
        sr.plot.learning(trends, "strength", group="nobody")


def test_report_sections_show_the_numbers(results, tmp_path):
    groups, pops, trends = results
    cohort, _, model, enc = conditions_study()
    page = sr.report(model, cohort, tmp_path / "r", encoding=enc, groups=groups, populations=pops)
    html = page.read_text(encoding="utf-8")
    assert 'id="groups"' in html and 'id="populations"' in html
    est = groups.effects.loc[("expert", True, "any", "fraction_encoding"), "estimate"]
    assert f"{est:.3g}" in html
    saved = pd.read_csv(tmp_path / "r" / "tables" / "population_differences.csv")
    np.testing.assert_allclose(saved["difference"], pops.differences["difference"])
    assert (tmp_path / "r" / "figures" / "groups_thalamus_driven.png").stat().st_size > 0
    # data with metadata but no analysis: the report says which call would fill the section
    bare = sr.report(model, cohort, tmp_path / "b").read_text(encoding="utf-8")
    assert "sr.compare_groups" in bare and "sr.compare_populations" in bare
    dcohort, _, dmodel, _ = days_study()
    days = sr.report(dmodel, dcohort, tmp_path / "d", trends=trends).read_text(encoding="utf-8")
    assert 'id="days"' in days and (tmp_path / "d" / "figures" / "learning.png").is_file()


def test_config_study_keys(tmp_path):
    (tmp_path / "s.npz").write_bytes(b"")
    base = 'files = ["s.npz"]\n'

    def cfg(text):
        path = tmp_path / "fit.toml"
        path.write_text(base + text)
        return read_config(path)

    c = cfg('groups = "tag"\npopulations = "population"\ndays = "day"\ntiming_vars = ["x"]\n')
    assert c.groups == ("tag",) and c.populations == "population" and c.days == "day"
    assert c.timing_vars == ("x",) and c.boot_animals == 1000
    assert cfg("").groups == () and cfg("").populations is None
    for text, key in (("groups = 3\n", "groups"), ("days = ''\n", "days"),
                      ("timing_vars = 'x'\n", "timing_vars"), ("boot_animals = 2\n",
                                                               "boot_animals")):  # fmt: skip
        with pytest.raises(ConfigError, match=f"key '{key}'"):
            cfg(text)


def test_command_line_runs_the_study(tmp_path, capsys):
    folder = tmp_path / "lever"
    assert main(["simulate", str(folder), "--lever", "--mice", "3", "--days", "3", "-q"]) == EXIT_OK
    cfg = (folder / "fit.toml").read_text()
    assert 'days = "day"' in cfg and 'groups = "thalamus_driven"' in cfg
    back = sr.load_cohort(folder)
    assert list(back[0].neuron_info.columns) == ["population", "thalamus_driven"]
    assert main(["fit", str(folder / "fit.toml"), "-q"]) == EXIT_OK
    out = folder / "results"
    html = (out / "index.html").read_text(encoding="utf-8")
    assert 'id="groups"' in html and 'id="populations"' in html and 'id="days"' in html
    trends = pd.read_csv(out / "tables" / "trends.csv")
    assert {"slope", "p_value", "p_animals"} <= set(trends.columns)
    # a study key naming a column the data do not have is a user mistake, named
    (folder / "bad.toml").write_text(cfg.replace('groups = "thalamus_driven"', 'groups = "layer"'))
    assert main(["fit", str(folder / "bad.toml"), "-q"]) == EXIT_USAGE
    assert "no neuron_info column 'layer'" in capsys.readouterr().err
