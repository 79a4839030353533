"""Estimators: fast vectorised paths against slow per-pair references, and degenerate input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.spatial.distance import pdist
from scipy.stats import spearmanr

from harness.probing.artifacts import ModelArtifacts
from harness.common.errors import HarnessError
from harness.estimators import ESTIMATORS, Affinity, EstimatorParams, estimate, rank_sources
from harness.estimators.attribution_maps import MAP_METHODS

N_IMAGES, N_PIX = 14, 24
MAP_KEYS = MAP_METHODS + ("gradient_field",)  # every map an estimator reads (modelgif reads gradient_field)


def make_models(n_models: int = 5, seed: int = 0, widths=(7, 9, 5, 11, 6)) -> list[ModelArtifacts]:
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=(N_IMAGES, N_PIX))
    out = []
    for m in range(n_models):
        maps = {k: shared * rng.uniform(0.2, 1.0) + rng.normal(size=(N_IMAGES, N_PIX)) for k in MAP_KEYS}
        feats = rng.normal(size=(N_IMAGES, widths[m % len(widths)]))
        feats[:, 0] = np.round(feats[:, 0])  # ties in the distances
        out.append(ModelArtifacts(model_id=f"m{m}", task=f"t{m}", maps=maps, features=feats))
    return out


def slow_cosine(maps: list[np.ndarray]) -> np.ndarray:
    n = len(maps)
    a = np.eye(n)
    for s in range(n):
        for t in range(n):
            if s == t:
                continue
            cos = []
            for x, y in zip(maps[s], maps[t]):
                nx, ny = np.linalg.norm(x), np.linalg.norm(y)
                cos.append(0.0 if nx == 0 or ny == 0 else float(x @ y) / (nx * ny))
            a[s, t] = np.mean(cos)
    return a


def slow_spearman(features: list[np.ndarray], metric: str, centre: bool) -> np.ndarray:
    vecs = []
    for f in features:
        f = f - f.mean(axis=0) if centre else f
        d = pdist(f, metric)
        vecs.append(np.where(np.isnan(d), 1.0, d))
    n = len(vecs)
    a = np.eye(n)
    for s in range(n):
        for t in range(n):
            if s != t:
                with warnings.catch_warnings():  # constant vector: scipy warns and gives NaN
                    warnings.simplefilter("ignore")
                    a[s, t] = spearmanr(vecs[s], vecs[t])[0]
    return a


def test_registry_keys() -> None:
    assert sorted(ESTIMATORS.names()) == sorted(
        ["saliency", "gradxinput", "elrp", "integrated_gradients", "depara", "depara_edge", "rsa",
         "cka", "cka-linear", "cka-rbf", "cka-linear-debiased", "cka-rbf-debiased", "dds", "modelgif"]
    )
    assert "second_order" not in ESTIMATORS  # equals gradxinput on ReLU nets; not the seed's 2ndG
    with pytest.raises(HarnessError, match="did you mean 'depara'"):
        estimate("deparra", make_models())


@pytest.mark.parametrize("method", MAP_METHODS)
def test_map_affinity_matches_loop(method: str) -> None:
    models = make_models()
    got = estimate(method, models)
    assert isinstance(got, Affinity) and got.model_ids == tuple(m.model_id for m in models)
    np.testing.assert_allclose(got.matrix, slow_cosine([m.maps[method] for m in models]), atol=1e-12)
    np.testing.assert_allclose(got.matrix, got.matrix.T, atol=1e-12)  # cosine is symmetric
    tiny_chunks = estimate(method, models, EstimatorParams(chunk_bytes=1))  # one image per chunk
    np.testing.assert_allclose(tiny_chunks.matrix, got.matrix, atol=1e-12)


def test_rsa_matches_scipy_spearman_of_centred_features() -> None:
    models = make_models()
    got = estimate("rsa", models).matrix
    np.testing.assert_allclose(got, slow_spearman([m.features for m in models], "correlation", True), atol=1e-10)
    np.testing.assert_allclose(got, got.T, atol=1e-12)


def test_rsa_centres_feature_columns_as_the_seed_does() -> None:
    """A per-unit offset (e.g. a bias) must not change RSA: the seed centres every column first."""
    models = make_models()
    rng = np.random.default_rng(3)
    shifted = [ModelArtifacts(m.model_id, m.task, maps=m.maps, features=m.features + rng.normal(0, 5, m.features.shape[1]))
               for m in models]
    np.testing.assert_allclose(estimate("rsa", shifted).matrix, estimate("rsa", models).matrix, atol=1e-10)


@pytest.mark.parametrize("lam", [0.25, 0.03])
def test_depara_is_the_seeds_nodes_over_1000_plus_lambda_edges(lam: float) -> None:
    models = make_models()
    got = estimate("depara", models, EstimatorParams(depara_lambda=lam)).matrix
    nodes = slow_cosine([m.maps["gradxinput"] for m in models])
    edges = slow_spearman([m.features for m in models], "cosine", True)
    np.testing.assert_allclose(got, nodes / 1000 + lam * edges, atol=1e-10)
    np.testing.assert_allclose(np.diag(got), 1 / 1000 + lam)
    np.testing.assert_allclose(estimate("depara_edge", models).matrix, edges, atol=1e-10)


def test_identical_models_have_affinity_one() -> None:
    base = make_models(2)
    twin = ModelArtifacts("twin", "t", maps=dict(base[0].maps), features=base[0].features.copy())
    models = [base[0], twin, base[1]]
    for name in ["saliency", "gradxinput", "elrp", "rsa"]:
        assert estimate(name, models).matrix[0, 1] == pytest.approx(1.0, abs=1e-12)
    assert estimate("depara", models).matrix[0, 1] == pytest.approx(0.251, abs=1e-12)
    assert estimate("depara_edge", models).matrix[0, 1] == pytest.approx(1.0, abs=1e-12)


def test_degenerate_inputs_are_nan_free() -> None:
    models = make_models(3)
    zero = ModelArtifacts("zero", "t", maps={k: np.zeros((N_IMAGES, N_PIX)) for k in MAP_KEYS},
                          features=np.zeros((N_IMAGES, 4)))
    const = ModelArtifacts("const", "t", maps={k: np.ones((N_IMAGES, N_PIX)) for k in MAP_KEYS},
                           features=np.ones((N_IMAGES, 4)))
    half = models[0].features.copy()
    half[: N_IMAGES // 2] = 0.0  # some zero rows: NaN distances in pdist
    partial = ModelArtifacts("partial", "t", maps=models[0].maps, features=half)
    everything = models + [zero, const, partial]
    for name in ESTIMATORS.names():
        a = estimate(name, everything).matrix
        assert np.all(np.isfinite(a)), name
        np.testing.assert_allclose(a, a.T, atol=1e-12)
    sal = estimate("saliency", everything).matrix
    assert np.all(sal[3, [0, 1, 2, 4, 5]] == 0.0) and sal[3, 3] == 1.0
    rsa = estimate("rsa", everything).matrix
    assert rsa[3, 0] == 0.0 and rsa[4, 0] == 0.0  # constant features: no ranking, Spearman 0
    expected = slow_spearman([m.features for m in everything], "cosine", True)
    got_edges = estimate("depara_edge", everything).matrix
    mask = np.isfinite(expected)  # scipy gives NaN where one vector is constant; we give 0
    np.testing.assert_allclose(got_edges[mask], expected[mask], atol=1e-10)
    assert np.all(got_edges[~mask] == 0.0)


def test_symmetric_inputs_give_symmetric_depara() -> None:
    a = estimate("depara", make_models()).matrix
    np.testing.assert_allclose(a, a.T, atol=1e-12)


def test_missing_inputs_name_the_model() -> None:
    models = make_models(3)
    no_maps = ModelArtifacts("bare", "t", maps={"saliency": models[0].maps["saliency"]}, features=models[0].features)
    with pytest.raises(HarnessError, match=r"model 'bare': no 'gradxinput' attribution maps \(has: saliency\)"):
        estimate("depara", models + [no_maps])
    no_feats = ModelArtifacts("nofeat", "t", maps=models[0].maps)
    with pytest.raises(HarnessError, match="model 'nofeat': no probe-layer features"):
        estimate("rsa", models + [no_feats])
    short = ModelArtifacts("short", "t", maps={k: v[:5] for k, v in models[0].maps.items()}, features=models[0].features)
    with pytest.raises(HarnessError, match="model 'short'.*same probe images"):
        estimate("elrp", models + [short])
    bad = ModelArtifacts("nan", "t", maps={k: np.full((N_IMAGES, N_PIX), np.nan) for k in MAP_METHODS})
    with pytest.raises(HarnessError, match="model 'nan'.*NaN"):
        estimate("saliency", models + [bad])
    with pytest.raises(HarnessError, match="more than once"):
        estimate("saliency", models + [models[0]])
    with pytest.raises(HarnessError, match="depara_lambda"):
        EstimatorParams(depara_lambda=float("nan"))


def test_rank_sources_excludes_target_and_breaks_ties_by_order() -> None:
    a = np.array([[1.0, 0.5, 0.2, 0.3], [0.5, 1.0, 0.9, 0.3], [0.5, 0.1, 1.0, np.nan], [0.1, 0.5, 0.9, 1.0]])
    ids = ["a", "b", "c", "d"]
    ranks = rank_sources(a, ids)
    assert ranks["a"] == ["b", "c", "d"]  # b and c tie at 0.5: model order
    assert ranks["b"] == ["a", "d", "c"]  # a 0.5 = d 0.5 -> a first; c 0.1 last
    assert ranks["c"] == ["b", "d", "a"]
    assert ranks["d"] == ["a", "b", "c"]  # NaN goes last
