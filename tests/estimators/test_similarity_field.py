"""CKA, DDS and ModelGiF estimators against slow float64 textbook versions, plus one behaviour each."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr

from harness.common.errors import HarnessError
from harness.estimators import estimate
from harness.probing.artifacts import ModelArtifacts

N_IMAGES = 12
WIDTHS = (7, 9, 5, 11, 6)


def make_features(n_models: int = 5, seed: int = 0, n_images: int = N_IMAGES) -> list[np.ndarray]:
    """Models of different widths sharing a latent image structure, one with tied values."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n_images, 3))
    out = []
    for m in range(n_models):
        width = WIDTHS[m % len(WIDTHS)]
        f = latent @ rng.normal(size=(3, width)) * rng.uniform(0.3, 2.0) + rng.normal(size=(n_images, width))
        f += rng.normal(0, 3, width)  # per-unit offsets
        out.append(f)
    out[1][:, 0] = np.round(out[1][:, 0])
    return out


def as_models(features: list[np.ndarray]) -> list[ModelArtifacts]:
    return [ModelArtifacts(model_id=f"m{i}", task=f"t{i}", features=f) for i, f in enumerate(features)]


# ---------------------------------------------------------------- textbook CKA


def textbook_gram(x: np.ndarray, kernel: str, fraction: float = 0.8) -> np.ndarray:
    n = x.shape[0]
    if kernel == "linear":
        return np.array([[float(x[i] @ x[j]) for j in range(n)] for i in range(n)])
    dist = np.array([[np.linalg.norm(x[i] - x[j]) for j in range(n)] for i in range(n)])
    sigma = fraction * np.median([dist[i, j] for i in range(n) for j in range(i + 1, n)])
    return np.exp(-dist**2 / (2 * sigma**2))


def hsic_biased(k: np.ndarray, m: np.ndarray) -> float:
    n = k.shape[0]
    h = np.eye(n) - np.ones((n, n)) / n
    return float(np.trace(k @ h @ m @ h)) / (n - 1) ** 2


def hsic_unbiased(k: np.ndarray, m: np.ndarray) -> float:
    """Song et al. (2012), eq. 5, with the diagonals set to zero."""
    n = k.shape[0]
    kt, lt = k - np.diag(np.diag(k)), m - np.diag(np.diag(m))
    one = np.ones(n)
    term = np.trace(kt @ lt) + (one @ kt @ one) * (one @ lt @ one) / ((n - 1) * (n - 2)) - 2 / (n - 2) * (one @ kt @ lt @ one)
    return float(term) / (n * (n - 3))


def textbook_cka(features: list[np.ndarray], kernel: str, debiased: bool) -> np.ndarray:
    grams = [textbook_gram(f, kernel) for f in features]
    hsic = hsic_unbiased if debiased else hsic_biased
    n = len(grams)
    a = np.eye(n)
    for s, t in itertools.product(range(n), range(n)):
        if s != t:
            a[s, t] = hsic(grams[s], grams[t]) / np.sqrt(hsic(grams[s], grams[s]) * hsic(grams[t], grams[t]))
    return a


CKA_NAMES = {"cka-linear": ("linear", False), "cka-rbf": ("rbf", False),
             "cka-linear-debiased": ("linear", True), "cka-rbf-debiased": ("rbf", True)}


@pytest.mark.parametrize("name", sorted(CKA_NAMES))
def test_cka_matches_textbook_hsic(name: str) -> None:
    feats = make_features()
    got = estimate(name, as_models(feats)).matrix
    expected = textbook_cka(feats, *CKA_NAMES[name])
    assert np.max(np.abs(got - expected)) < 1e-12
    np.testing.assert_allclose(got, got.T, atol=1e-14)


def test_cka_default_is_linear_debiased() -> None:
    models = as_models(make_features())
    np.testing.assert_array_equal(estimate("cka", models).matrix, estimate("cka-linear-debiased", models).matrix)


def test_linear_cka_invariant_to_rotation_scale_and_offsets() -> None:
    """Kornblith et al.'s invariances: orthogonal transforms and isotropic scaling (and, being centred, offsets)."""
    feats = make_features()
    rng = np.random.default_rng(5)
    q, _ = np.linalg.qr(rng.normal(size=(feats[0].shape[1],) * 2))
    moved = [feats[0] @ q * 7.0 + rng.normal(size=feats[0].shape[1])] + feats[1:]
    for name in ("cka-linear", "cka-linear-debiased"):
        np.testing.assert_allclose(estimate(name, as_models(moved)).matrix, estimate(name, as_models(feats)).matrix,
                                   atol=1e-12)


def test_debiased_cka_removes_the_small_sample_bias() -> None:
    """Few images, many units, independent random features: biased CKA is large, debiased near 0."""
    rng = np.random.default_rng(1)
    models = as_models([rng.normal(size=(48, 1000)) for _ in range(3)])
    off = ~np.eye(3, dtype=bool)
    assert np.all(estimate("cka-linear", models).matrix[off] > 0.8)
    assert np.all(np.abs(estimate("cka-linear-debiased", models).matrix[off]) < 0.15)


def test_cka_degenerate_features_and_too_few_images() -> None:
    feats = make_features(3) + [np.zeros((N_IMAGES, 4)), np.ones((N_IMAGES, 3))]
    for name in list(CKA_NAMES) + ["cka"]:
        a = estimate(name, as_models(feats)).matrix
        assert np.all(np.isfinite(a)) and np.all(a[3, :3] == 0.0), name
    few = as_models([f[:3] for f in make_features(2)])
    with pytest.raises(HarnessError, match="at least 4 probe images"):
        estimate("cka", few)
    assert np.isfinite(estimate("cka-linear", few).matrix).all()


# ---------------------------------------------------------------- textbook DDS


def textbook_normalise(x: np.ndarray, how: str) -> np.ndarray:
    out = np.array(x, dtype=np.float64)
    if how in ("centring", "zscore"):
        for u in range(x.shape[1]):
            col = out[:, u] - out[:, u].mean()
            sd = np.sqrt(np.mean(col**2))
            out[:, u] = col / sd if how == "zscore" and sd > 0 else col
    elif how == "layernorm":
        for i in range(x.shape[0]):
            row = out[i] - out[i].mean()
            sd = np.sqrt(np.mean(row**2))
            out[i] = row / sd if sd > 0 else row
    return out


def textbook_entry(a: np.ndarray, b: np.ndarray, function: str, sigma: float) -> float:
    if function in ("pearson", "cosine"):
        if function == "pearson":
            a, b = a - a.mean(), b - b.mean()
        na, nb = np.linalg.norm(a), np.linalg.norm(b)
        return 1.0 - (float(a @ b) / (na * nb) if na > 0 and nb > 0 else 0.0)
    if function == "euclidean":
        return float(np.sqrt(np.sum((a - b) ** 2)))
    if function == "linear":
        return float(np.sum(a * b))
    if function == "laplacian":
        return float(np.exp(-np.sum(np.abs(a - b)) / a.size))
    return float(np.exp(-np.sum((a - b) ** 2) / (2 * sigma**2)))


def textbook_image_matrix(x: np.ndarray, function: str) -> np.ndarray:
    n = x.shape[0]
    sigma = 0.5 * np.median([np.linalg.norm(x[i] - x[j]) for i in range(n) for j in range(i + 1, n)])
    m = np.array([[textbook_entry(x[i], x[j], function, sigma) for j in range(n)] for i in range(n)])
    if function in ("pearson", "cosine", "euclidean"):
        np.fill_diagonal(m, 0.0)
    return m


def textbook_compare(m1: np.ndarray, m2: np.ndarray, comparison: str) -> float:
    if comparison in ("cka", "cka-debiased"):
        hsic = hsic_unbiased if comparison == "cka-debiased" else hsic_biased
        return hsic(m1, m2) / np.sqrt(hsic(m1, m1) * hsic(m2, m2))
    iu = np.triu_indices(m1.shape[0], 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float((pearsonr if comparison == "pearson" else spearmanr)(m1[iu], m2[iu])[0])


def textbook_dds(features: list[np.ndarray], normalisation: str, function: str, comparison: str) -> np.ndarray:
    mats = [textbook_image_matrix(textbook_normalise(f, normalisation), function) for f in features]
    n = len(mats)
    a = np.eye(n)
    for s, t in itertools.product(range(n), range(n)):
        if s != t:
            a[s, t] = textbook_compare(mats[s], mats[t], comparison)
    return a


from harness.estimators.dds import (DDS_COMPARISONS, DDS_DEFAULT, DDS_FUNCTIONS,  # noqa: E402
                                    DDS_NORMALISATIONS, dds_matrix)


@pytest.mark.parametrize("normalisation,function", list(itertools.product(DDS_NORMALISATIONS, DDS_FUNCTIONS)))
def test_dds_grid_matches_textbook(normalisation: str, function: str) -> None:
    feats = make_features(4)
    for comparison in DDS_COMPARISONS:
        got = dds_matrix(feats, normalisation, function, comparison)
        expected = textbook_dds(feats, normalisation, function, comparison)
        assert np.max(np.abs(got - expected)) < 1e-10, (normalisation, function, comparison)
        np.testing.assert_allclose(got, got.T, atol=1e-14)


def test_dds_default_is_the_papers_best_and_rsa_is_a_corner() -> None:
    feats = make_features()
    models = as_models(feats)
    assert DDS_DEFAULT == ("zscore", "laplacian", "cka-debiased")
    np.testing.assert_array_equal(estimate("dds", models).matrix, dds_matrix(feats))
    np.testing.assert_allclose(dds_matrix(feats, "centring", "pearson", "spearman"), estimate("rsa", models).matrix,
                               atol=1e-10)
    tiny = dds_matrix(feats, chunk_bytes=1)  # spilled to disk, accumulated in chunks
    np.testing.assert_allclose(tiny, dds_matrix(feats), atol=1e-12)


def test_zscore_makes_dds_blind_to_unit_scales() -> None:
    """z-scoring removes per-unit scale (e.g. a unit in other units of measure); no normalisation does not."""
    feats = make_features()
    scaled = [feats[0] * np.geomspace(0.01, 100, feats[0].shape[1])] + feats[1:]
    for function in ("laplacian", "euclidean", "linear"):
        np.testing.assert_allclose(dds_matrix(scaled, "zscore", function), dds_matrix(feats, "zscore", function), atol=1e-12)
        assert np.abs(dds_matrix(scaled, "none", function) - dds_matrix(feats, "none", function)).max() > 1e-3


def test_dds_rejects_unknown_grid_names_and_is_nan_free_on_degenerate_features() -> None:
    with pytest.raises(HarnessError, match="DDS kernel/distance 'gauss': expected one of pearson"):
        dds_matrix(make_features(2), "zscore", "gauss", "cka")
    feats = make_features(3) + [np.zeros((N_IMAGES, 4)), np.ones((N_IMAGES, 3))]
    for normalisation, function, comparison in itertools.product(DDS_NORMALISATIONS, DDS_FUNCTIONS, DDS_COMPARISONS):
        a = dds_matrix(feats, normalisation, function, comparison)
        assert np.all(np.isfinite(a)), (normalisation, function, comparison)


# ---------------------------------------------------------------- ModelGiF (the pass itself: tests/attribution/test_gradient_field.py)


def test_modelgif_is_the_mean_per_image_cosine_of_fields() -> None:
    rng = np.random.default_rng(2)
    shared = rng.normal(size=(N_IMAGES, 20))
    fields = [shared * rng.uniform(-1, 1) + rng.normal(size=(N_IMAGES, 20)) for _ in range(4)]
    models = [ModelArtifacts(f"m{i}", "t", maps={"gradient_field": f}) for i, f in enumerate(fields)]
    expected = np.eye(4)
    for s, t in itertools.product(range(4), range(4)):
        if s != t:
            expected[s, t] = np.mean([a @ b / (np.linalg.norm(a) * np.linalg.norm(b)) for a, b in zip(fields[s], fields[t])])
    assert np.max(np.abs(estimate("modelgif", models).matrix - expected)) < 1e-12
    with pytest.raises(HarnessError, match="no 'gradient_field' attribution maps"):
        estimate("modelgif", as_models(make_features(2)))
