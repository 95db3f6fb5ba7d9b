"""The report and the warnings say what the data do and do not show.

Null cohorts (``snr=0``), peaks at the edge of the lag window, designs that cannot reach a
small p-value, sessions in other units: each must be said, where a reader looks first.
"""

from __future__ import annotations

import hashlib
import re
import struct
import warnings
from html.parser import HTMLParser

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import xarray as xr

import sharedrep as sr
from sharedrep.cli import EXIT_OK, main
from sharedrep.inference.permutation import smallest_p_value

pytestmark = pytest.mark.usefixtures("close_figures")

# what the report's page offers a figure: main's max width minus its padding (CSS pixels)
REPORT_WIDTH_PX = 1120 - 2 * 32
# 9 pt on screen, in CSS pixels (96 per inch)
MIN_TEXT_PX = 9 * 96 / 72


def _text(path) -> str:
    class T(HTMLParser):
        def __init__(self):
            super().__init__()
            self.parts = []

        def handle_data(self, data):
            self.parts.append(data)

    t = T()
    t.feed(path.read_text(encoding="utf-8"))
    return " ".join(" ".join(t.parts).split())


def _scaled(session: sr.Session, factor: float) -> sr.Session:
    return sr.Session(
        np.asarray(session.behavior) * factor,
        session.neural,
        session.segments,
        name=session.name,
        rate=session.rate,
    )


# -- unit mismatch --------------------------------------------------------------------------------
def _units_warnings(record) -> list[str]:
    return [str(w.message) for w in record if "spread" in str(w.message) or "differ" in str(w)]


def test_unit_mismatch_names_the_outlier_once_with_its_ratio(small_cohort):
    cohort, truth = small_cohort
    sessions = list(cohort)
    sessions[2] = _scaled(sessions[2], 100.0)
    # the ratio of the outlier's SD to the median session's, computed here directly
    sd = np.array([np.asarray(s.behavior)[2:-2].std(axis=0) for s in sessions])
    expected = sd[2] / np.median(sd, axis=0)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        sr.ShaReDCV(n_components=[1, 2], alpha=[1.0], folds=3, lags=truth.lags).fit(sessions)
    found = _units_warnings(record)
    assert len(found) == 1, found  # once, although every fold and the refit standardize it
    assert found[0].startswith("session 'session2': its behavior's spread is more than 10x")
    # the ratio of the first fit that standardizes the session (here a training fold)
    ratios = [float(v) for v in re.findall(r"x\d ([0-9.]+)", found[0])]
    np.testing.assert_allclose(ratios, expected, rtol=0.05)
    assert "ratio of its standard deviation to the median session's" in found[0]


def test_unit_mismatch_with_two_sessions_names_both(small_cohort):
    cohort, truth = small_cohort
    pair = [cohort[0], _scaled(cohort[1], 100.0)]
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        sr.ShaReD(2, lags=truth.lags).fit(pair)
    found = _units_warnings(record)
    assert len(found) == 1
    assert "sessions 'session0' and 'session1'" in found[0]
    assert "no majority to say which one is off" in found[0]
    ratios = [float(v) for v in re.findall(r"x\d ([0-9.]+)", found[0])]
    assert all(0.005 < r < 0.02 for r in ratios)  # session0 / session1, about 1/100


def test_similar_units_do_not_warn(small_cohort):
    cohort, truth = small_cohort
    sessions = list(cohort)
    sessions[2] = _scaled(sessions[2], 3.0)  # 3x is a different animal, not other units
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        sr.ShaReD(2, lags=truth.lags).fit(sessions)
    assert _units_warnings(record) == []


def test_data_warnings_reach_the_report(small_cohort, tmp_path):
    cohort, truth = small_cohort
    sessions = list(cohort)
    sessions[3] = _scaled(sessions[3], 0.01)
    with pytest.warns(sr.SharedRepWarning, match="session 'session3'"):
        search = sr.ShaReDCV(n_components=[1, 2], alpha=[1.0], folds=3, lags=truth.lags)
        search.fit(sessions)
    assert len(search.warnings_) == 1 and "session 'session3'" in search.warnings_[0]
    # kept in the model file: a report made later, from the file, still shows it
    loaded = sr.load(search.best_estimator_.save(tmp_path / "m.npz"))
    page = _text(sr.report(loaded, sessions, tmp_path / "rep", warnings=["from the caller"]))
    assert "Data warnings (2)" in page
    assert "session 'session3': its behavior's spread" in page and "from the caller" in page


# -- null results ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def noise():
    cohort, truth = sr.simulate.cohort(
        n_sessions=4,
        n_samples=(700, 900),
        n_neurons=(8, 12),
        n_features=3,
        lags=range(-2, 3),
        snr=0.0,
        seed=3,
    )
    search = sr.ShaReDCV(n_components=[1, 2], alpha=[1.0, 100.0], folds=3, lags=truth.lags)
    search.fit(cohort)
    enc = sr.encoding_map(search.best_estimator_, cohort, n_null=99, folds=3)
    return cohort, search, enc


def test_a_pure_noise_cohort_is_reported_as_a_null_result(noise, tmp_path):
    cohort, search, enc = noise
    best = search.cv_results_.summary["r2"].max()
    assert best <= 0  # the premise: nothing predicts held-out data
    page = _text(sr.report(search, cohort, tmp_path, encoding=enc))
    banner = page.index("No evidence of a shared representation")
    assert banner < page.index("shared components")  # said before the key numbers
    assert f"the best held-out R² over the cross-validation grid is {sr.plot.fmt_value(best)}" in (
        page
    )
    assert "not supported by the data" in page and "peak lags not shown" in page
    assert "these filters are fitted to noise" in page
    if not enc.neurons["encodes"].any():
        assert "no neuron encodes the shared representation at FDR 0.05" in page


def test_null_findings_are_empty_for_real_structure(small_cohort):
    cohort, truth = small_cohort
    model = sr.ShaReD(truth.n_components, lags=truth.lags).fit(cohort)
    enc = sr.encoding_map(model, cohort, n_null=99, folds=3)
    assert sr.reporting.null_findings(0.05, enc) == []
    assert sr.reporting.null_findings(-0.001, None)[0].startswith("the best held-out R²")


def test_a_too_small_null_is_a_caveat_not_a_null_result(small_cohort):
    cohort, truth = small_cohort
    model = sr.ShaReD(truth.n_components, lags=truth.lags).fit(cohort)
    enc = sr.encoding_map(model, cohort, n_null=19, folds=3)  # p >= 1/20 = the FDR level
    assert not enc.neurons["encodes"].any()
    assert sr.reporting.null_findings(0.1, enc) == []
    (caveat,) = sr.reporting.encoding_caveats(enc)
    assert "no p-value can go below 0.05" in caveat


def test_cli_says_a_null_result_loudly(tmp_path, capsys):
    folder = tmp_path / "noise"
    argv = ["simulate", str(folder), "--sessions", "3", "--samples", "700", "--neurons", "8"]
    assert main([*argv, "--snr", "0", "--seed", "4", "-q"]) == EXIT_OK
    cfg = folder / "fit.toml"
    text = cfg.read_text().replace("null_size = 200", "null_size = 99")
    cfg.write_text(text.replace("bootstrap = 50", "bootstrap = 0"))
    assert main(["fit", str(cfg)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "NULL RESULT: no evidence of a shared representation" in out
    assert "Peak lag of each component" not in out
    # --quiet still says it: it is a result
    assert main(["fit", "-q", str(cfg)]) == EXIT_OK
    assert "NULL RESULT" in capsys.readouterr().out


# -- peak lags ------------------------------------------------------------------------------------
def _loadings(peaks: list[int], lags=range(-3, 4)) -> xr.DataArray:
    """Two features, one bump per component at the given lag index."""
    lags = np.asarray(list(lags))
    values = np.zeros((2, lags.size, len(peaks)))
    for k, i in enumerate(peaks):
        values[0, i, k] = 1.0
        values[1, i, k] = 0.5
    return xr.DataArray(
        values,
        dims=("feature", "lag", "component"),
        coords={"feature": ["a", "b"], "lag": lags, "component": np.arange(len(peaks))},
    )


def test_peaks_at_the_window_edge_or_with_bands_across_zero_are_flagged():
    loadings = _loadings([3, 0, 6])  # middle, first lag, last lag
    info = sr.plot.peak_info(loadings)
    assert info["peak_lag"].tolist() == [0, -3, 3]
    assert info["at_edge"].tolist() == [False, True, True]
    assert info["trusted"].tolist() == [True, False, False]
    # with bands: component 0's band spans 0 at its peak for both features
    lower = loadings - 0.3
    upper = loadings + 0.3
    lower[0, 3, 0], lower[1, 3, 0] = -0.1, -0.1
    ds = xr.Dataset({"loadings": loadings, "lower": lower, "upper": upper})
    info = sr.plot.peak_info(ds)
    assert info["band_spans_zero"].tolist() == [True, False, False]
    assert not info["trusted"].any()
    fig = sr.plot.filters(ds)
    titles = [ax.get_title() for ax in fig.axes]
    assert "band spans 0" in titles[0] and "at window edge" in titles[1]


def test_flagged_peaks_are_left_out_of_the_headline(small_cohort, tmp_path):
    cohort, truth = small_cohort
    model = sr.ShaReD(truth.n_components, lags=range(-1, 2)).fit(cohort)  # a narrow window
    peaks = sr.reporting.peak_lag_table(model)
    page = _text(sr.report(model, cohort, tmp_path))
    card = re.search(r"peak lags (\S.*?) ms, components", page).group(1)
    for k, row in peaks.iterrows():
        if row["trusted"]:
            assert sr.plot.fmt_lag(1000 * row["peak_lag"] / cohort.rate) in card.split(", ")[k]
        else:
            assert card.split(", ")[k] == "\N{EN DASH}"
            assert f"c{k} at the window edge" in page
    assert (~peaks["trusted"]).any()  # the premise: a window this narrow cuts some peak


# -- conditions -----------------------------------------------------------------------------------
def _exact_smallest_p(subjects, labels) -> float:
    """The smallest p by enumerating every labelling the permutation scheme draws from, with
    session values that make the observed labelling the most extreme (each session's value is
    its condition's index)."""
    from itertools import permutations, product

    subjects, labels = np.asarray(subjects, object), np.asarray(labels, object)
    conds = sorted(set(labels))
    values = np.array([conds.index(c) for c in labels], float)
    within = any(len(set(labels[subjects == u])) > 1 for u in set(subjects))
    if within:  # labels permuted within each subject
        groups = [np.flatnonzero(subjects == u) for u in sorted(set(subjects))]
        space = []
        for combo in product(*[set(permutations(labels[g])) for g in groups]):
            lab = labels.copy()
            for g, c in zip(groups, combo, strict=True):
                lab[g] = c
            space.append(lab)
    else:  # one session per subject here: subjects permuted between conditions
        space = [np.array(p, object) for p in set(permutations(labels))]

    def stat(lab):
        means = [values[lab == c].mean() for c in conds]
        return max(means) - min(means)

    obs = stat(labels)
    return sum(stat(lab) >= obs - 1e-12 for lab in space) / len(space)


@pytest.mark.parametrize(
    ("subjects", "labels"),
    [
        (list("abcdef"), ["n", "n", "n", "e", "e", "e"]),  # 6 animals, 3 + 3: 2 / 20
        (list("abcde"), ["n", "n", "e", "e", "e"]),  # 5 animals, 2 + 3: 1 / 10
        (["m", "m", "k", "k", "j", "j"], ["n", "e", "n", "e", "n", "e"]),  # within: 2 / 8
        (list("abcdef"), ["x", "x", "y", "y", "z", "z"]),  # three groups of 2: 6 / 90
    ],
)
def test_smallest_attainable_p_matches_enumeration(subjects, labels):
    p_min, _ = smallest_p_value(np.array(subjects), np.array(labels))
    assert p_min == pytest.approx(_exact_smallest_p(subjects, labels))
    # and a Monte Carlo test cannot go below 1 / (n_perm + 1)
    assert smallest_p_value(np.array(subjects), np.array(labels), n_perm=9)[0] >= 0.1


def test_report_states_the_smallest_attainable_p(tmp_path):
    cohort, truth = sr.simulate.cohort(
        n_sessions=6,
        n_samples=(600, 700),
        n_neurons=(6, 8),
        n_features=2,
        lags=range(-2, 3),
        conditions=["naive", "expert"],
        seed=2,
    )
    model = sr.ShaReD(2, lags=truth.lags).fit(cohort)
    enc = sr.encoding_map(model, cohort, n_null=49, folds=3)
    comp = sr.compare_conditions(model, cohort, encoding=enc, n_perm=99)
    page = _text(sr.report(model, cohort, tmp_path, encoding=enc, comparison=comp))
    # 6 animals, one condition each, 3 + 3: 20 labellings, 2 extreme: p >= 0.1
    assert "20 distinct labellings, so no p-value can be below 0.1" in page
    assert "no difference can reach p < 0.05 here" in page
    assert comp["p_value"].min() >= 0.1 - 1e-12


# -- provenance: inputs and software --------------------------------------------------------------
def test_inputs_are_listed_with_their_sha256_and_every_dependency_version(tmp_path):
    cohort, truth = sr.simulate.cohort(n_sessions=2, n_samples=600, n_features=2, seed=0)
    for s in cohort:
        s.to_npz(tmp_path / f"{s.name}.npz")
    cohort = sr.load_cohort(tmp_path)
    model = sr.ShaReD(2, lags=truth.lags).fit(cohort)
    out = tmp_path / "rep"
    page = _text(sr.report(model, cohort, out))
    for s in cohort:
        digest = hashlib.sha256((tmp_path / f"{s.name}.npz").read_bytes()).hexdigest()
        assert digest in page
    versions = sr.reporting.software_versions()["version"]
    import importlib.metadata as md

    for package in ("numpy", "scipy", "pandas", "xarray", "matplotlib", "pooch", "tqdm"):
        assert versions[package] == md.version(package)
        assert f"{package} {versions[package]}" in page
    assert (out / "tables" / "input_files.csv").is_file()


# -- figures readable at report width -------------------------------------------------------------
def _png_width(data: bytes) -> int:
    return struct.unpack(">I", data[16:20])[0]


def test_every_report_figure_has_9pt_text_at_report_width(tmp_path):
    """From the PNG and the smallest text of each figure: text size on a 1,056-px page."""
    cohort, truth = sr.simulate.cohort(
        n_sessions=7,
        n_samples=(600, 700),
        n_neurons=(10, 40),
        n_features=8,
        lags=range(-3, 4),
        conditions=["a", "b"],
        seed=1,
    )
    search = sr.ShaReDCV(n_components=[1, 2, 3], alpha=[1.0, 100.0], folds=3, lags=truth.lags)
    model = search.fit(cohort).best_estimator_
    enc = sr.encoding_map(model, cohort, n_null=49, folds=3)
    boot = sr.bootstrap_loadings(model, cohort, n_boot=10)
    comp = sr.compare_conditions(model, cohort, encoding=enc, n_perm=49)
    path = sr.report(search, cohort, tmp_path, encoding=enc, comparison=comp, bootstrap=boot)
    page = path.read_text(encoding="utf-8")
    images = re.findall(r'<img alt="[^"]*" data-min-font-pt="([\d.]+)" data-dpi="(\d+)"', page)
    assert len(images) == 5
    for (pt, dpi), name in zip(
        images, ["cv_curve", "filters", "session_r2", "encoding_map", "conditions"], strict=True
    ):
        width = _png_width((tmp_path / "figures" / f"{name}.png").read_bytes())
        scale = min(1.0, REPORT_WIDTH_PX / width)
        shown = float(pt) * int(dpi) / 72 * scale
        assert float(pt) >= sr.plot.MIN_FONT_PT, name
        assert shown >= MIN_TEXT_PX, f"{name}: {shown:.1f} px"


def test_encoding_map_clipping_is_visible():
    """Negative R² and values above the scale are drawn in distinct colours, with arrows."""
    import pandas as pd

    neurons = pd.DataFrame(
        {
            "session": "s",
            "condition": None,
            "neuron": ["a", "b", "c"],
            "r2_crossfit": [-0.2, 0.05, 0.9],
            "encodes": [False, True, True],
        }
    )
    comps = pd.DataFrame(
        {
            "session": "s",
            "neuron": ["a", "b", "c"],
            "component": 0,
            "delta_r2_crossfit": [-0.01, 0.02, 0.04],
            "encodes": [False, False, True],
        }
    )

    class Enc:
        pass

    enc = Enc()
    enc.neurons, enc.components = neurons, comps
    fig = sr.plot.encoding_map(enc, vmax=0.5, vmax_delta=0.03)
    panel = fig.axes[0]
    r2_image, delta_image = panel.get_images()
    assert r2_image.norm.vmin == 0 and r2_image.norm.vmax == 0.5
    assert delta_image.norm.vmax == 0.03  # its own scale
    under = r2_image.cmap.get_under()
    over = r2_image.cmap.get_over()
    colours = r2_image.to_rgba(np.array([-0.2, 0.9]))
    np.testing.assert_allclose(colours[0], under)
    np.testing.assert_allclose(colours[1], over)
    assert not np.allclose(under, r2_image.cmap(0.0))  # clipping is not silent
    bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    extends = sorted(ax._colorbar.extend for ax in bars)
    assert extends == ["both", "both"]
    assert fig.axes[0].get_title().endswith("2/3 encode")
