"""Feature sharing: the batched marginalisation against the seed's loop, known answers, the evidence formula."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import fx, nn

from harness.model.layers import Layer
from harness.probes.labels import TaskLabels
from harness.analyses.sharing.evidence import weighted_evidence
from harness.analyses.sharing.heads import make_head
from harness.analyses.sharing.marginalise import marginalise, marginalise_loop, unit_slice
from harness.analyses.sharing.measures import head_contributions, sharing_measures
from harness.analyses.sharing.suffix import UnitSuffix
from harness.analyses.sharing.units import UnitLayer, sample_unit


class TwoHeads(nn.Module):
    """conv -> relu -> conv(mid) -> (classification head with a skip from before mid, dense regression head)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.relu = nn.ReLU()
        self.mid = nn.Conv2d(6, 5, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(5 + 6, 4)
        self.dense = nn.ConvTranspose2d(5, 2, 2, stride=2)

    def forward(self, x):
        a = self.relu(self.conv1(x))
        m = torch.tanh(self.mid(a))
        cls = self.fc(torch.cat([self.flat(self.pool(m)), self.flat(self.pool(a))], dim=1))
        return cls, self.dense(m)


def _setup(seed: int = 0):
    torch.manual_seed(seed)
    net = TwoHeads().double().eval()
    gm = fx.symbolic_trace(net)
    x = torch.rand(6, 3, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        cls, dense = gm(x)
    rng = np.random.default_rng(seed)
    cls_labels = TaskLabels("cls", "classification", cls.argmax(1).numpy())
    dense_labels = TaskLabels("dense", "dense_regression", rng.random((6, 16, 16, 2)).astype(np.float32))
    heads = [make_head("cls", 0, cls, cls_labels, "test"), make_head("dense", 1, dense, dense_labels, "test")]
    return gm, x, heads


def _layer(gm, name: str, op: str) -> UnitLayer:
    return UnitLayer(name, Layer(name, op, name, name, 0), gm.get_submodule(name))


@pytest.mark.parametrize("name,op", [("mid", "Conv"), ("conv1", "Conv"), ("fc", "Gemm"), ("dense", "ConvTranspose")])
def test_batched_equals_loop(name, op):
    gm, x, heads = _setup()
    layer = _layer(gm, name, op)
    fast = marginalise(gm, x, layer, heads, n_samples=5, seed=3, max_rows=13)
    slow = marginalise_loop(gm, x, layer, heads, n_samples=5, seed=3)
    assert fast.path == "split"
    for head in heads:
        assert fast.loglik[head.name].shape == (layer.n_units, 5, 6)
        torch.testing.assert_close(fast.loglik[head.name], slow.loglik[head.name], rtol=1e-9, atol=1e-9)
        torch.testing.assert_close(fast.loglik0[head.name], slow.loglik0[head.name])
    torch.testing.assert_close(fast.log_weights, slow.log_weights)
    hooked = marginalise(gm, x, layer, heads, n_samples=5, seed=3, max_rows=13, force_hook=True)
    assert hooked.path == "hook"
    torch.testing.assert_close(hooked.loglik["cls"], slow.loglik["cls"], rtol=1e-9, atol=1e-9)
    # the loop restores every parameter it overwrote
    again = marginalise_loop(gm, x, layer, heads, n_samples=2, seed=3, units=[0])
    torch.testing.assert_close(again.loglik0["dense"], slow.loglik0["dense"])


class Residual(nn.Module):
    """Stem conv + BN, a residual block (scaled branch + skip), a pooled linear head and a token-wise linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 6, 3, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.block = nn.Conv2d(6, 6, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(6 * 4 * 4, 4)
        self.tok = nn.Linear(6, 5)
        self.norm = nn.LayerNorm(5)
        self.out = nn.Linear(5, 3)
        with torch.no_grad():
            self.bn.running_mean.uniform_(-0.5, 0.5)
            self.bn.running_var.uniform_(0.5, 2.0)
            self.bn.weight.uniform_(0.5, 1.5)
            self.bn.bias.uniform_(-0.2, 0.2)

    def forward(self, x):
        a = torch.relu(self.bn(self.stem(x)))
        b = torch.relu(self.block(a) * 0.5 + a)
        cls = self.fc(self.flat(self.pool(b)))
        tokens = b.flatten(2).transpose(1, 2)
        reg = self.out(self.norm(torch.nn.functional.gelu(self.tok(tokens))).mean(dim=1))
        return cls, reg


@pytest.mark.parametrize("name,op,expect", [
    ("stem", "Conv", {"bn": "slice", "relu": "slice", "block": "linear-update", "add": "dense"}),
    ("block", "Conv", {"mul": "slice", "add": "slice", "relu_1": "slice", "pool": "slice", "flat": "slice",
                       "fc": "linear-update", "flatten": "dense"}),
    ("tok", "Gemm", {"gelu": "slice", "norm": "dense"}),
    ("fc", "Gemm", {}),
])
def test_slicewise_suffix_equals_loop(name, op, expect):
    """Residual skips, BN, pooling, flatten, token-wise linear layers: the cut graph computes only the changed
    slice where it can (``modes``) and still equals the seed's loop."""
    torch.manual_seed(2)
    gm = fx.symbolic_trace(Residual().double().eval())
    x = torch.rand(5, 3, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        cls, reg = gm(x)
    rng = np.random.default_rng(1)
    heads = [make_head("cls", 0, cls, TaskLabels("cls", "classification", cls.argmax(1).numpy()), "t"),
             make_head("reg", 1, reg, TaskLabels("reg", "regression", reg.numpy() + rng.normal(0, 0.1, (5, 3))), "t")]
    layer = _layer(gm, name, op)
    fast = marginalise(gm, x, layer, heads, n_samples=6, seed=4, max_rows=11)
    slow = marginalise_loop(gm, x, layer, heads, n_samples=6, seed=4)
    assert fast.path == "split"
    for head in heads:
        torch.testing.assert_close(fast.loglik[head.name], slow.loglik[head.name], rtol=1e-9, atol=1e-9)
    suffix = UnitSuffix(gm, name)
    layer_in, _ = suffix.intact(x)
    filt, bias = layer.get(1)
    suffix.outputs(unit_slice(layer, layer_in, 1, filt[None], bias[None], suffix.base[suffix.layer_node].dim()), 1)
    for node, mode in expect.items():
        assert suffix.modes[node] == mode, (node, suffix.modes)


def test_samples_are_self_normalised_gaussians_around_the_unit():
    gm, _, _ = _setup()
    layer = _layer(gm, "mid", "Conv")
    draw = sample_unit(layer, 2, 4000, seed=1)
    assert math.isclose(float(torch.logsumexp(draw.log_weights, 0)), 0.0, abs_tol=1e-12)
    filt, bias = layer.get(2)
    noise = torch.cat([(draw.filters - filt).reshape(4000, -1), (draw.biases - bias).reshape(4000, 1)], 1)
    assert abs(float(noise.mean())) < 0.02 and abs(float(noise.std()) - 1.0) < 0.02
    expected = -0.5 * (noise**2).sum(1)
    torch.testing.assert_close(draw.log_weights, expected - torch.logsumexp(expected, 0))


def test_weighted_evidence_matches_the_seed_formula():
    """Classification WE against the seed's numpy code (correction, odds, log2), on random numbers."""
    gm, x, heads = _setup()
    rng = np.random.default_rng(0)
    ll0 = torch.from_numpy(np.log(rng.uniform(0.05, 1, 6)))
    ll = torch.from_numpy(np.log(rng.uniform(0.01, 1, (3, 4, 6))))
    lw = torch.from_numpy(rng.normal(size=(3, 4)))
    lw = lw - torch.logsumexp(lw, 1, keepdim=True)
    we = weighted_evidence(heads[0], ll0, ll, lw).numpy()
    k = heads[0].n_classes

    def odds(p):
        p = (p * 1e6 + 1) / (1e6 * k)
        return p / (1 - p)

    conds = (np.exp(lw.numpy())[:, :, None] * np.exp(ll.numpy())).sum(1)
    expected = np.log2(odds(np.exp(ll0.numpy()))) - np.log2(odds(conds))
    np.testing.assert_allclose(we, expected, rtol=1e-10)
    # regression: log-likelihood ratio in bits
    we_r = weighted_evidence(heads[1], ll0, ll, lw).numpy()
    np.testing.assert_allclose(we_r, (ll0.numpy() - np.log(conds)) / np.log(2), rtol=1e-10)


class Disjoint(nn.Module):
    """Unit 0 of ``shared`` feeds head A only, unit 1 head B only, unit 2 both (a known answer)."""

    def __init__(self) -> None:
        super().__init__()
        self.shared = nn.Conv2d(3, 3, 3, padding=1)
        self.head_a = nn.Conv2d(3, 1, 1)
        self.head_b = nn.Conv2d(3, 1, 1)
        with torch.no_grad():
            self.head_a.weight.copy_(torch.tensor([1.0, 0.0, 0.7]).view(1, 3, 1, 1))
            self.head_b.weight.copy_(torch.tensor([0.0, 1.0, -0.8]).view(1, 3, 1, 1))

    def forward(self, x):
        h = torch.tanh(self.shared(x))
        return self.head_a(h), self.head_b(h)


def test_regression_known_answer_unit_feeding_one_head():
    torch.manual_seed(1)
    gm = fx.symbolic_trace(Disjoint().double().eval())
    x = torch.rand(8, 3, 6, 6, dtype=torch.float64)
    with torch.no_grad():
        a, b = gm(x)
    noise = np.random.default_rng(0).normal(0, 0.05, (2, 8, 6, 6, 1))
    heads = [make_head("A", 0, a, TaskLabels("A", "dense_regression", (a.permute(0, 2, 3, 1).numpy() + noise[0])), "t"),
             make_head("B", 1, b, TaskLabels("B", "dense_regression", (b.permute(0, 2, 3, 1).numpy() + noise[1])), "t")]
    assert heads[0].sigma == pytest.approx(float(np.sqrt((noise[0] ** 2).mean())), rel=1e-6)
    marg = marginalise(gm, x, _layer(gm, "shared", "Conv"), heads, n_samples=16, seed=0)
    c = head_contributions(heads, marg, torch.ones(8, dtype=torch.bool))
    assert c["A"][1] == 0.0 and c["B"][0] == 0.0  # exactly: the head cannot see the unit
    assert c["A"][0] > 0.1 and c["B"][1] > 0.1 and c["A"][2] > 0.1 and c["B"][2] > 0.1
    m = sharing_measures(c["A"], c["B"], threshold=0.25)
    assert m["shared_fraction"] == pytest.approx(1 / 3)
    assert m["jaccard"] == pytest.approx(1 / 3)


def test_sharing_measures_textbook():
    ca = np.array([1.0, 0.5, 0.1, 0.0])
    cb = np.array([0.2, 0.9, 1.0, 0.05])
    m = sharing_measures(ca, cb, threshold=0.25)
    # matters A: units 0, 1; matters B: units 1, 2 -> both: unit 1
    assert m["shared_fraction"] == 0.25 and m["jaccard"] == pytest.approx(1 / 3)
    assert m["pearson"] == pytest.approx(np.corrcoef(ca, cb)[0, 1])
