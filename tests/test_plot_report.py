"""Figures (sr.plot) and the HTML report (sr.report), checked against the numbers they show.

The report is also opened in headless Chromium: the test skips only when no browser binary
exists (``tools/install-browser.sh`` installs one; CI runs it).
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from html.parser import HTMLParser

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported anywhere: no display needed
import matplotlib.figure
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import sharedrep as sr
from sharedrep.plot import ALPHA

pytestmark = pytest.mark.usefixtures("close_figures")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def analysis():
    """A small two-condition analysis with every result object the report takes."""
    cohort, truth = sr.simulate.cohort(
        n_sessions=4,
        n_samples=(700, 900),
        n_neurons=(8, 12),
        n_features=3,
        lags=range(-2, 3),
        conditions=["naive", "expert"],
        seed=5,
    )
    search = sr.ShaReDCV(
        n_components=[1, 2, 3, 4], alpha=[1.0, 100.0], folds=3, lags=truth.lags
    ).fit(cohort)
    model, cv = search.best_estimator_, search.cv_results_
    enc = sr.encoding_map(model, cohort, n_null=49, folds=3)
    boot = sr.bootstrap_loadings(model, cohort, n_boot=12)
    comp = sr.compare_conditions(model, cohort, encoding=enc, n_perm=49)
    return {
        "cohort": cohort,
        "truth": truth,
        "search": search,
        "model": model,
        "cv": cv,
        "enc": enc,
        "boot": boot,
        "comp": comp,
    }


# -- plots ----------------------------------------------------------------------------------------
def test_cv_curve_one_line_per_alpha_with_the_cv_numbers(analysis):
    cv = analysis["cv"]
    fig = sr.plot.cv_curve(cv)
    assert isinstance(fig, matplotlib.figure.Figure)
    ax = fig.axes[0]
    lines = {ln.get_label(): ln for ln in ax.get_lines() if ln.get_label().startswith(ALPHA)}
    alphas = sorted(cv.summary.index.get_level_values("alpha").unique())
    assert sorted(lines) == sorted(f"{ALPHA} = {a:g}" for a in alphas)
    for a in alphas:
        expected = cv.summary.xs(a, level="alpha")["r2"].sort_index()
        ln = lines[f"{ALPHA} = {a:g}"]
        np.testing.assert_array_equal(ln.get_xdata(), expected.index.to_numpy())
        np.testing.assert_allclose(ln.get_ydata(), expected.to_numpy())
    star = next(ln for ln in ax.get_lines() if ln.get_label() == "chosen")
    assert star.get_xdata()[0] == cv.n_components
    assert star.get_ydata()[0] == pytest.approx(cv.summary.loc[(cv.n_components, cv.alpha), "r2"])
    assert ax.get_xlabel() and "R²" in ax.get_ylabel()
    # reference line at R² = 0 (predicting the mean), and the noise ceiling when given
    zero = next(ln for ln in ax.get_lines() if ln.get_label() == "R² = 0 (the mean)")
    assert list(zero.get_ydata()) == [0, 0]
    fig = sr.plot.cv_curve(cv, noise_ceiling=0.2)
    ceiling = next(ln for ln in fig.axes[0].get_lines() if ln.get_label() == "noise ceiling")
    assert list(ceiling.get_ydata()) == [0.2, 0.2]


def test_filters_one_panel_per_component_one_line_per_variable(analysis):
    model = analysis["model"]
    fig = sr.plot.filters(model)
    d = model.coef_.shape[1]
    assert len(fig.axes) == d
    lag_ms = 1000 * model.loadings_["lag_s"].to_numpy()
    for k, ax in enumerate(fig.axes):
        lines = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]
        assert [ln.get_label() for ln in lines] == list(model.feature_names_)
        for ln, f in zip(lines, model.feature_names_, strict=True):
            np.testing.assert_allclose(ln.get_xdata(), lag_ms)
            np.testing.assert_allclose(
                ln.get_ydata(), model.loadings_.sel(feature=f, component=k).to_numpy()
            )
        assert "ms" in ax.get_xlabel()
    assert "SD" in fig.axes[0].get_ylabel()


def test_filters_bands_from_bootstrap(analysis):
    boot = analysis["boot"]
    fig = sr.plot.filters(boot)
    p = boot.sizes["feature"]
    for k, ax in enumerate(fig.axes):
        assert len(ax.collections) == p  # one shaded band per variable
        band = ax.collections[0].get_paths()[0].vertices[:, 1]
        lo = boot["lower"].isel(feature=0, component=k).to_numpy()
        hi = boot["upper"].isel(feature=0, component=k).to_numpy()
        assert band.min() == pytest.approx(lo.min()) and band.max() == pytest.approx(hi.max())


def test_encoding_map_panels_hold_each_sessions_values(analysis):
    enc, cohort = analysis["enc"], analysis["cohort"]
    fig = sr.plot.encoding_map(enc)
    panels = [ax for ax in fig.axes if ax.get_images()]
    assert len(panels) == len(cohort)
    for ax, s in zip(panels, cohort, strict=True):
        nn = enc.neurons[enc.neurons["session"] == s.name]
        nn = nn.sort_values("r2_crossfit", ascending=False)
        # R² and ΔR² are two images with two colour scales
        r2_image, delta_image = (np.asarray(im.get_array()) for im in ax.get_images())
        assert r2_image.shape == (s.n_neurons, 1)
        assert delta_image.shape == (s.n_neurons, enc.n_components)
        np.testing.assert_allclose(r2_image[:, 0], nn["r2_crossfit"].to_numpy())
        cc = enc.components[enc.components["session"] == s.name]
        for j in range(enc.n_components):
            dr2 = (
                cc[cc["component"] == j].set_index("neuron").loc[nn["neuron"], "delta_r2_crossfit"]
            )
            np.testing.assert_allclose(delta_image[:, j], dr2.to_numpy())
        dots = sum(len(ln.get_xdata()) for ln in ax.get_lines() if ln.get_marker() == "o")
        n_sig = int(nn["encodes"].sum()) + int(cc["encodes"].sum())
        assert dots == n_sig
        assert f"{int(nn['encodes'].sum())}/{s.n_neurons} encode" in ax.get_title()


def test_session_r2_means_match_the_neuron_table(analysis):
    cv = analysis["cv"]
    ax = sr.plot.session_r2(cv).axes[0]
    chosen = cv.neuron[
        (cv.neuron["n_components"] == cv.n_components) & (cv.neuron["alpha"] == cv.alpha)
    ]
    expected = chosen.groupby("session")["r2"].mean()
    names = [t.get_text() for t in ax.get_xticklabels()]
    assert sorted(names) == sorted(expected.index)
    bars = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == 2 and ln.get_linewidth() == 2]
    assert len(bars) == len(names)
    for i, name in enumerate(names):
        bar = next(b for b in bars if abs(np.mean(b.get_xdata()) - i) < 1e-9)
        assert bar.get_ydata()[0] == pytest.approx(expected[name])
    n_dots = sum(len(c.get_offsets()) for c in ax.collections)
    assert n_dots == int(np.isfinite(chosen["r2"]).sum())
    # sessions are grouped by condition, naive first (order of appearance)
    conds = [analysis["cohort"][n].condition for n in names]
    assert conds == sorted(conds, key=["naive", "expert"].index)


def test_session_r2_accepts_scores(analysis):
    scores = analysis["model"].score(analysis["cohort"])
    ax = sr.plot.session_r2(scores, ylabel="in-sample R² per neuron").axes[0]
    assert ax.get_ylabel() == "in-sample R² per neuron"
    assert sum(len(c.get_offsets()) for c in ax.collections) == len(scores.neuron)


def _bars(ax, label):
    cont = next(b for b in ax.containers if b.get_label() == label)
    return np.array([b.get_height() for b in cont])


def test_conditions_bars_are_the_table_and_dots_the_sessions(analysis):
    comp, enc, cohort = analysis["comp"], analysis["enc"], analysis["cohort"]
    fig = sr.plot.conditions(comp, encoding=enc)
    frac_ax, r2_ax, delta_ax, _ = fig.axes
    frac = comp.xs("fraction_encoding", level="measure")
    strength = comp.xs("strength", level="measure")
    for c in ("naive", "expert"):
        np.testing.assert_allclose(_bars(frac_ax, c), frac[c].to_numpy())
        # R² ("any") and ΔR² (each component) are on separate axes
        np.testing.assert_allclose(_bars(r2_ax, c), [strength.loc["any", c]])
        np.testing.assert_allclose(_bars(delta_ax, c), strength.drop(index="any")[c].to_numpy())
    texts = [t.get_text() for t in frac_ax.texts]
    assert len(texts) == len(frac) and all(t.startswith("p") for t in texts)
    # one white dot per session and component: its own fraction of neurons encoding
    dots = [ln for ln in frac_ax.get_lines() if ln.get_label() == "_session"]
    got = np.sort(np.concatenate([ln.get_ydata() for ln in dots]))
    per = [enc.neurons.groupby("session")["encodes"].mean().to_numpy()]
    for j in range(enc.n_components):
        c = enc.components[enc.components["component"] == j]
        per.append(c.groupby("session")["encodes"].mean().to_numpy())
    np.testing.assert_allclose(got, np.sort(np.concatenate(per)))
    assert len(got) == len(cohort) * (1 + enc.n_components)
    # the FDR level is the reference of the fraction panel
    fdr = next(ln for ln in frac_ax.get_lines() if ln.get_label() == f"FDR {enc.fdr:g}")
    assert list(fdr.get_ydata()) == [enc.fdr, enc.fdr]
    # 4 animals, 2 per condition, labels permuted between animals: C(4, 2) = 6 labellings of
    # which 2 (the observed one and its mirror) give the same |difference|
    assert "smallest attainable p = 0.33 (6 distinct labellings)" in fig.get_suptitle()


def test_plots_draw_into_given_axes_and_all_return_the_figure(analysis):
    fig, ax = plt.subplots()
    assert sr.plot.cv_curve(analysis["cv"], ax=ax) is fig
    assert sr.plot.session_r2(analysis["cv"], ax=ax) is fig
    a = analysis
    for figure in (
        sr.plot.filters(a["model"]),
        sr.plot.encoding_map(a["enc"]),
        sr.plot.encoding_map(a["model"]),
        sr.plot.conditions(a["comp"]),
    ):
        assert isinstance(figure, matplotlib.figure.Figure)
    with pytest.raises(TypeError, match="ShaReD"):
        sr.plot.filters(object())


# -- the report -----------------------------------------------------------------------------------
class _Tags(HTMLParser):
    """Collects tags with their attributes, and the visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _parse(page: str) -> _Tags:
    p = _Tags()
    p.feed(page)
    return p


def _check_self_contained(parsed: _Tags) -> int:
    """Every image embedded as a PNG data URI; nothing loaded from a URL. Returns #images."""
    images = [a for t, a in parsed.tags if t == "img"]
    for a in images:
        assert a["src"].startswith("data:image/png;base64,")
        assert base64.b64decode(a["src"].split(",", 1)[1])[:8] == PNG_MAGIC
        assert a.get("alt")
    for tag, a in parsed.tags:
        for key in ("src", "href"):
            assert not re.match(r"^(https?:)?//", a.get(key, "")), (tag, a)
        assert tag not in ("script", "link", "iframe")
    return len(images)


@pytest.fixture(scope="module")
def full_report(analysis, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    a = analysis
    path = sr.report(
        a["search"],  # a ShaReDCV: model and cross-validation together
        a["cohort"],
        out,
        encoding=a["enc"],
        comparison=a["comp"],
        bootstrap=a["boot"],
        title="Test cohort",
    )
    return path


def test_report_shows_the_numbers_that_matter(analysis, full_report):
    cv, enc, model = analysis["cv"], analysis["enc"], analysis["model"]
    page = full_report.read_text(encoding="utf-8")
    text = " ".join(_parse(page).text)
    best = cv.summary.loc[(cv.n_components, cv.alpha)]
    assert sr.plot.fmt_value(best["r2"]) in text
    assert f"± {sr.plot.fmt_value(best['se'], 2)}" in text
    assert f"chosen by CV ({cv.rule})" in text
    assert f"{100 * enc.neurons['encodes'].mean():.0f}%" in text
    assert "Test cohort" in text
    for s in analysis["cohort"]:
        assert s.name in text
    # peak lags in the headline: trusted ones only (a dash for a peak at the window's edge)
    peaks = sr.reporting.peak_lag_table(model, analysis["boot"])
    pk = peaks["peak_lag"].to_numpy() * 1000 / analysis["cohort"].rate
    shown = [
        sr.plot.fmt_lag(v) if ok else "\N{EN DASH}"
        for v, ok in zip(pk, peaks["trusted"], strict=True)
    ]
    assert ", ".join(shown) in text
    assert "Methods." in text and f"{cv.n_folds}-fold cross-validation" in text


def test_report_is_self_contained_with_tables(analysis, full_report):
    out = full_report.parent
    parsed = _parse(full_report.read_text(encoding="utf-8"))
    assert _check_self_contained(parsed) == 5  # cv, filters, R², encoding map, conditions
    for name in ("cv_curve", "filters", "session_r2", "encoding_map", "conditions"):
        assert (out / "figures" / f"{name}.png").read_bytes()[:8] == PNG_MAGIC
    cv = analysis["cv"]
    summary = pd.read_csv(out / "tables" / "cv_summary.csv", index_col=[0, 1])
    np.testing.assert_allclose(summary["r2_heldout"].to_numpy(), cv.summary["r2"].to_numpy())
    sessions = pd.read_csv(out / "tables" / "sessions.csv", index_col=0)
    expected = cv.scores(cv.n_components, cv.alpha).session
    np.testing.assert_allclose(sessions.loc[expected.index, "r2_heldout"], expected.to_numpy())
    loadings = pd.read_csv(out / "tables" / "loadings.csv")
    assert {"feature", "lag", "component", "loadings", "lower", "upper"} <= set(loadings.columns)
    assert (loadings["lower"] <= loadings["upper"]).all()
    neurons = pd.read_csv(out / "tables" / "encoding_neurons.csv")
    assert len(neurons) == sum(s.n_neurons for s in analysis["cohort"])
    # every file the report links to exists
    links = [a["href"] for t, a in parsed.tags if t == "a"]
    assert links and all((out / h).is_file() for h in links)


def test_report_without_statistics_says_what_is_missing(analysis, tmp_path):
    cohort = analysis["cohort"]
    model = sr.ShaReD(2, alpha=10.0, lags=analysis["truth"].lags).fit(cohort)  # set by hand
    path = sr.report(model, cohort, tmp_path)
    text = " ".join(_parse(path.read_text(encoding="utf-8")).text)
    assert "in-sample R²" in text and "Not cross-validated" in text
    assert "set by the user" in text
    assert "sr.encoding_map(model, cohort)" in text
    assert "sr.compare_conditions" in text  # the cohort has two conditions
    expected = model.score(cohort).pooled
    assert sr.plot.fmt_value(expected) in text
    assert _check_self_contained(_parse(path.read_text(encoding="utf-8"))) == 2


def test_report_refuses_sessions_without_readout(analysis, tmp_path):
    model = sr.ShaReD(2, lags=analysis["truth"].lags).fit(analysis["cohort"][:2])
    with pytest.raises(KeyError, match="session2"):
        sr.report(model, analysis["cohort"], tmp_path)


def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_report_renders_in_headless_chromium(analysis, full_report, tmp_path):
    browser = _browser()
    if browser is None:
        pytest.skip("no Chromium/Chrome binary (tools/install-browser.sh installs one)")
    # a copy that records, after load, how many images the browser actually decoded
    page = full_report.read_text(encoding="utf-8")
    probe = (
        "<script>window.addEventListener('load',()=>{document.body.setAttribute("
        "'data-decoded',[...document.images].filter(i=>i.complete&&i.naturalWidth>0).length)"
        "})</script>"
    )
    copy = full_report.parent / "probe.html"
    copy.write_text(page.replace("</body>", probe + "</body>"), encoding="utf-8")
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=5000",
        "--dump-dom",
        copy.as_uri(),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    dom = res.stdout
    parsed = _parse(dom)
    n_images = _check_self_contained_dom(parsed)
    body = next(a for t, a in parsed.tags if t == "body")
    assert body.get("data-decoded") == str(n_images) == "5"
    cv = analysis["cv"]
    best = cv.summary.loc[(cv.n_components, cv.alpha)]
    text = " ".join(parsed.text)
    assert f"{best['r2']:.3f}" in text and "Encoding map" in text and "Condition comparison" in text


def _check_self_contained_dom(parsed: _Tags) -> int:
    """As :func:`_check_self_contained`, allowing only the probe script the test added."""
    scripts = [a for t, a in parsed.tags if t == "script"]
    assert len(scripts) == 1 and "src" not in scripts[0]
    kept = _Tags()
    kept.tags = [(t, a) for t, a in parsed.tags if t != "script"]
    return _check_self_contained(kept)


def test_report_without_rate_uses_samples(tmp_path):
    cohort, truth = sr.simulate.cohort(
        n_sessions=2, n_samples=500, n_neurons=6, n_features=2, lags=range(-2, 3), rate=None
    )
    model = sr.ShaReD(2, lags=truth.lags).fit(cohort)
    fig = sr.plot.filters(model)
    assert "samples" in fig.axes[0].get_xlabel()
    np.testing.assert_array_equal(fig.axes[0].get_lines()[0].get_xdata(), truth.lags)
    path = sr.report(model, cohort, tmp_path)
    text = " ".join(_parse(path.read_text(encoding="utf-8")).text)
    info = sr.reporting.peak_lag_table(model)
    np.testing.assert_array_equal(info["peak_lag"], sr.peak_lag(model.loadings_).to_numpy())
    shown = [
        sr.plot.fmt_lag(v) if ok else "\N{EN DASH}"
        for v, ok in zip(info["peak_lag"], info["trusted"], strict=True)
    ]
    assert ", ".join(shown) in text
    assert "samples, components 0..1" in text
    peaks = pd.read_csv(tmp_path / "tables" / "peak_lags.csv", index_col=0)
    # no millisecond column without a rate
    assert list(peaks.columns) == ["peak_lag", "at_edge", "band_spans_zero", "trusted"]


def test_conditions_with_three_conditions():
    """A hand-built table in compare_conditions' layout (three conditions: a 'range' column)."""
    keys = [("any", "fraction_encoding"), ("any", "strength")]
    keys += [(j, m) for m in ("fraction_encoding", "strength", "peak_lag") for j in range(2)]
    rng = np.random.default_rng(0)
    values = rng.uniform(0, 1, size=(len(keys), 3))
    table = pd.DataFrame(values, columns=["naive", "mid", "expert"])
    table["range"] = values.max(1) - values.min(1)
    table["p_value"] = np.linspace(0.0005, 0.9, len(keys))
    table.index = pd.MultiIndex.from_tuples(keys, names=["component", "measure"])
    fig = sr.plot.conditions(table)
    frac = fig.axes[0]
    for c in ["naive", "mid", "expert"]:
        bars = next(b for b in frac.containers if b.get_label() == c)
        expected = table.xs("fraction_encoding", level="measure")[c].to_numpy()
        np.testing.assert_allclose([b.get_height() for b in bars], expected)
        assert len(bars) == 3  # components 0, 1 and "any"
    lags = fig.axes[3]  # peak lags as dots, one per condition and component
    assert sum(len(ln.get_xdata()) for ln in lags.get_lines() if ln.get_marker() == "o") == 6
    assert [t.get_text() for t in frac.texts][-1].startswith("p=")
    assert "p<0.001 ***" in [t.get_text() for t in frac.texts]


def test_report_text_is_at_least_9pt_as_chromium_lays_it_out(full_report, tmp_path):
    """Headless Chromium at a laptop's width: each figure's smallest text, scaled as the
    browser draws the image, is at least 9 pt (12 CSS px); a screenshot is taken too."""
    browser = _browser()
    if browser is None:
        pytest.skip("no Chromium/Chrome binary (tools/install-browser.sh installs one)")
    page = full_report.read_text(encoding="utf-8")
    probe = (
        "<script>window.addEventListener('load',()=>{const px=[...document.images].map(i=>"
        "(+i.dataset.minFontPt)*(+i.dataset.dpi)/72*i.getBoundingClientRect().width/"
        "i.naturalWidth);document.body.setAttribute('data-min-text-px',Math.min(...px));"
        "document.body.setAttribute('data-images',px.length)})</script>"
    )
    copy = full_report.parent / "probe_text.html"
    copy.write_text(page.replace("</body>", probe + "</body>"), encoding="utf-8")
    common = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1200,900",
        "--virtual-time-budget=5000",
    ]
    res = subprocess.run(
        [*common, "--dump-dom", copy.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr[-2000:]
    body = next(a for t, a in _parse(res.stdout).tags if t == "body")
    assert body["data-images"] == "5"
    assert float(body["data-min-text-px"]) >= 9 * 96 / 72 - 1e-6
    shot = tmp_path / "report.png"
    res = subprocess.run(
        [*common, f"--screenshot={shot}", full_report.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0 and shot.read_bytes()[:8] == PNG_MAGIC
    assert int.from_bytes(shot.read_bytes()[16:20], "big") == 1200
