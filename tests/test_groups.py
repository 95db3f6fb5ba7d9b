"""compare_groups: enrichment of encoding in a labelled group, nested in animals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats as ss

import sharedrep as sr
from study_fixtures import conditions_study

M1 = "population == 'm1'"


@pytest.fixture(scope="module")
def study():
    return conditions_study()


@pytest.fixture(scope="module")
def tags(study):
    cohort, _, model, enc = study
    return sr.compare_groups(
        model, cohort, "thalamus_driven", where=M1, encoding=enc, n_perm=400, n_boot=400
    )


def _reference(enc: sr.EncodingMap, condition: str) -> dict[str, float]:
    """Mantel-Haenszel difference and odds ratio, weighted strength difference, by loops."""
    nn = enc.neurons[(enc.neurons["population"] == "m1") & (enc.neurons["condition"] == condition)]
    num_d = den_d = num_or = den_or = num_s = 0.0
    for _, s in nn.groupby("session"):
        g, r = s[s["thalamus_driven"] == True], s[s["thalamus_driven"] == False]  # noqa: E712
        n_g, n_r = len(g), len(r)
        n = n_g + n_r
        a, c = g["encodes"].sum(), r["encodes"].sum()
        w = n_g * n_r / n
        num_d += w * (a / n_g - c / n_r)
        den_d += w
        num_or += a * (n_r - c) / n
        den_or += c * (n_g - a) / n
        num_s += w * (g["r2_crossfit"].mean() - r["r2_crossfit"].mean())
    return {"difference": num_d / den_d, "odds_ratio": num_or / den_or, "strength": num_s / den_d}


def test_estimates_match_mantel_haenszel_by_hand(study, tags):
    _, _, _, enc = study
    for cond in ("naive", "expert"):
        ref = _reference(enc, cond)
        row = tags.effects.xs((cond, True, "any"), level=("condition", "group", "component"))
        assert row.loc["fraction_encoding", "estimate"] == pytest.approx(ref["difference"])
        assert row.loc["odds_ratio", "estimate"] == pytest.approx(ref["odds_ratio"])
        assert row.loc["strength", "estimate"] == pytest.approx(ref["strength"])
    # pooled fractions of the group and the rest
    nn = enc.neurons[(enc.neurons["population"] == "m1") & (enc.neurons["condition"] == "expert")]
    frac = nn.groupby("thalamus_driven")["encodes"].mean()
    row = tags.effects.loc[("expert", True, "any", "fraction_encoding")]
    assert row["group_value"] == pytest.approx(frac[True])
    assert row["rest_value"] == pytest.approx(frac[False])
    assert row["n_group"] + row["n_rest"] == len(nn)


def test_permutation_p_matches_an_independent_permutation_loop(study):
    cohort, _, model, enc = study
    res = sr.compare_groups(
        model, cohort, "thalamus_driven", where=M1, encoding=enc, n_perm=2000, n_boot=10
    )
    p = res.effects.loc[("naive", True, "any", "fraction_encoding"), "p_value"]
    nn = enc.neurons[(enc.neurons["population"] == "m1") & (enc.neurons["condition"] == "naive")]
    rng = np.random.default_rng(123)
    sessions = [(s["thalamus_driven"].to_numpy(bool), s["encodes"].to_numpy(float))
                for _, s in nn.groupby("session")]  # fmt: skip

    def statistic(labels):
        num = den = 0.0
        for lab, e in zip(labels, (x[1] for x in sessions), strict=True):
            n_g, n_r = lab.sum(), (~lab).sum()
            w = n_g * n_r / lab.size
            num += w * (e[lab].mean() - e[~lab].mean())
            den += w
        return num / den

    observed = statistic([x[0] for x in sessions])
    null = [statistic([rng.permutation(x[0]) for x in sessions]) for _ in range(2000)]
    p_ref = (1 + np.sum(np.abs(null) >= abs(observed) - 1e-12)) / 2001
    assert p == pytest.approx(p_ref, abs=0.05)


def test_enrichment_and_its_growth_are_recovered(study, tags):
    cohort, truth, _, _ = study
    exp = tags.effects.loc[("expert", True, "any", "fraction_encoding")]
    # the set enrichment of "any component" encoding (cue and lick are independent of the tag)
    want = np.mean(
        [truth.expected_fraction(n, "m1_tagged") - truth.expected_fraction(n, "m1_untagged")
         for n in cohort.names if truth.conditions[n] == "expert"]
    )  # fmt: skip
    assert exp["estimate"] > 0 and exp["p_value"] < 0.01
    assert exp["ci_low"] <= want <= exp["ci_high"]
    assert tags.effects.loc[("expert", True, "any", "odds_ratio"), "estimate"] > 1
    change = tags.interaction.loc[(True, "any", "fraction_encoding")]
    set_change = want - np.mean(
        [truth.expected_fraction(n, "m1_tagged") - truth.expected_fraction(n, "m1_untagged")
         for n in cohort.names if truth.conditions[n] == "naive"]
    )  # fmt: skip
    assert change["change"] > 0 and change["p_value"] < 0.01
    assert change["ci_low"] <= set_change <= change["ci_high"]
    assert "matched across sessions" in tags.attrs["interaction_permutation"]
    # each animal's own estimate is in the subjects table
    sub = tags.subjects.query("condition == 'expert' and component == 'any'")
    assert sub["subject"].nunique() == len({s.subject for s in cohort})


def test_swapping_group_and_rest_mirrors_every_effect(study, tags):
    cohort, _, model, enc = study
    rest = sr.compare_groups(
        model, cohort, "thalamus_driven", group=False, where=M1, encoding=enc, n_perm=400,
        n_boot=400,
    )  # fmt: skip
    a = tags.effects.xs(True, level="group")
    b = rest.effects.xs(False, level="group")
    for measure in ("fraction_encoding", "strength"):
        np.testing.assert_allclose(
            a.xs(measure, level="measure")["estimate"], -b.xs(measure, level="measure")["estimate"]
        )
    np.testing.assert_allclose(
        a.xs("odds_ratio", level="measure")["estimate"],
        1 / b.xs("odds_ratio", level="measure")["estimate"],
    )
    np.testing.assert_allclose(a["p_value"], b["p_value"])


def test_missing_labels_are_left_out_and_counted(study):
    cohort, _, model, enc = study
    res = sr.compare_groups(model, cohort, "thalamus_driven", encoding=enc, n_perm=50, n_boot=50)
    n_axons = sum(int((s.neuron_info["population"] == "thalamic_axon").sum()) for s in cohort)
    assert res.attrs["n_missing"] == n_axons  # axons carry no tag
    assert res.attrs["n_unselected"] == 0


def test_rank_correlation_of_a_numeric_column_matches_scipy(study):
    cohort, _, model, enc = study
    rng = np.random.default_rng(4)
    sessions = []
    for s in cohort:
        info = s.neuron_info.copy()
        info["depth"] = rng.uniform(100, 400, size=s.n_neurons)
        sessions.append(s.replace(neuron_info=info))
    c = sr.Cohort(sessions)
    enc2 = sr.EncodingMap(
        enc.neurons, enc.components, enc.sessions, enc.null, enc.cross_fit, enc.fdr,
        enc.n_components, enc.stats,
    )  # fmt: skip
    res = sr.compare_groups(model, c, "depth", encoding=enc2, n_perm=200, n_boot=50)
    assert res.attrs["kind"] == "numeric"
    for cond in ("naive", "expert"):
        zs, ws = [], []
        for s in c:
            if s.condition != cond:
                continue
            r2 = enc.components.query("session == @s.name and component == 1")
            r2 = r2.set_index("neuron").loc[list(s.neuron_names), "delta_r2_crossfit"]
            rho = ss.spearmanr(s.neuron_info["depth"], r2).statistic
            zs.append(np.arctanh(rho))
            ws.append(s.n_neurons - 3)
        want = np.tanh(np.average(zs, weights=ws))
        got = res.effects.loc[(cond, "all", 1, "rank_correlation"), "estimate"]
        assert got == pytest.approx(want, abs=1e-10)
    # depth is unrelated to encoding: no p-value is tiny
    assert res.effects["p_value"].min() > 0.005


def test_untracked_neurons_permute_condition_labels_within_animal(study):
    cohort, _, model, enc = study
    renamed = []
    for s in cohort:
        if s.condition == "expert":  # other cells on the second day: no neuron is matched
            names = [f"{n}-b" for n in s.neuron_names]
            s = sr.Session(
                s.behavior, s.neural, s.segments, name=s.name, subject=s.subject,
                condition=s.condition, feature_names=s.feature_names, neuron_names=names,
                rate=s.rate, neuron_info=s.neuron_info.set_axis(names),
            )  # fmt: skip
        renamed.append(s)
    c = sr.Cohort(renamed)
    fits = dict(model.session_fits_)
    for s in c:
        if s.condition == "expert":
            fits[s.name] = model.session_fits_[s.name]
    neurons = enc.neurons.copy()
    comps = enc.components.copy()
    for t in (neurons, comps):
        exp = t["condition"] == "expert"
        t.loc[exp, "neuron"] = t.loc[exp, "neuron"] + "-b"
    enc2 = sr.EncodingMap(neurons, comps, enc.sessions, enc.null, enc.cross_fit, enc.fdr,
                          enc.n_components)  # fmt: skip
    res = sr.compare_groups(model, c, "thalamus_driven", where=M1, encoding=enc2, n_perm=400)
    assert res.attrs["interaction_permutation"] == "condition labels permuted within-subject"
    # 4 animals, 2 sessions each: 16 labellings, so p cannot go below 2/16 (two-sided)
    assert res.interaction["p_value"].min() >= 0.1


def test_errors(study):
    cohort, _, model, enc = study
    with pytest.raises(sr.DataError, match="no neuron_info column 'nope'"):
        sr.compare_groups(model, cohort, "nope", encoding=enc)
    with pytest.raises(sr.DataError, match="group 'x' is not a label"):
        sr.compare_groups(model, cohort, "population", group="x", encoding=enc)
    with pytest.raises(sr.DataError, match="one label only"):
        sr.compare_groups(model, cohort, "population", where=M1, encoding=enc)
    other = sr.simulate.lever_task(n_mice=1, n_trials=5, n_axons=3, n_m1=5, seed=9)[0]
    with pytest.raises(sr.DataError, match="encoding map"):
        sr.compare_groups(model, other, "population", encoding=enc)


def test_tables_are_tidy(tags):
    assert tags.effects.index.names == ["condition", "group", "component", "measure"]
    assert set(tags.effects.index.get_level_values("measure")) == {
        "fraction_encoding", "odds_ratio", "strength",
    }  # fmt: skip
    e = tags.effects.dropna(subset=["estimate"])  # no neuron encodes a component: NaN odds
    assert (e["ci_low"] <= e["estimate"] + 1e-12).all()
    assert (e["estimate"] <= e["ci_high"] + 1e-12).all()
    assert tags.effects["p_value"].between(0, 1).all()
    assert isinstance(tags.sessions, pd.DataFrame) and len(tags.sessions) > 0
