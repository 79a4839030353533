"""Task heads of a multi-task model and the log-likelihood each assigns to its target.

Marginalisation only needs, per image, the log-likelihood of the *true* target under the
head's output, so every forward is reduced to one number per image right away:

- classification head (output (N, K)): log p(y | x), the log-softmax at the true class (the
  output is taken as probabilities when every row is non-negative and sums to 1);
- regression head (any output shape): the Gaussian log-likelihood of the target per output
  element, log N(t; f(x), sigma^2) averaged over the elements of one image. ``sigma`` is the
  noise scale of the Gaussian model: by default its maximum-likelihood value for the intact
  model on the probe images, sigma^2 = mean squared residual (so the scale of the target does
  not matter), or a fixed value given by the user.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from harness.common.errors import HarnessError
from harness.model.preprocess import resize
from harness.probes.labels import TaskLabels


@dataclass(frozen=True)
class Head:
    """One output of the model with its targets for the probe images."""

    name: str
    index: int  # position among the graph's outputs
    kind: str  # classification | regression
    target: torch.Tensor  # (N,) int64 classes, or (N, *output shape) float
    n_classes: int = 0
    sigma: float | None = None  # regression noise scale
    probabilities: bool = False  # classification output is already a distribution

    def loglik(self, out: torch.Tensor) -> torch.Tensor:
        """(K, N, ...) outputs for K parameter settings -> (K, N) log-likelihoods of the targets."""
        if self.kind == "classification":
            logp = out.clamp_min(1e-30).log() if self.probabilities else torch.log_softmax(out, dim=-1)
            index = self.target.view(1, -1, 1).expand(out.shape[0], -1, 1)
            return logp.gather(-1, index).squeeze(-1)
        sq = (out - self.target.unsqueeze(0)) ** 2
        mse = sq.reshape(out.shape[0], out.shape[1], -1).mean(dim=-1)
        return -0.5 * mse / self.sigma**2 - 0.5 * math.log(2 * math.pi * self.sigma**2)

    def correct(self, out: torch.Tensor) -> torch.Tensor:
        """(N,) which images the intact head gets right (all images for regression)."""
        if self.kind == "classification":
            return out.argmax(dim=-1) == self.target
        return torch.ones(out.shape[0], dtype=torch.bool)


def _looks_like_probabilities(out: torch.Tensor) -> bool:
    return bool((out >= 0).all() and torch.allclose(out.sum(dim=-1), torch.ones(out.shape[0], dtype=out.dtype), atol=1e-4))


def make_head(name: str, index: int, out0: torch.Tensor, labels: TaskLabels, where: str, sigma: float | None = None) -> Head:
    """Match a head's intact output (N, ...) with its labels; mismatches raise one line naming the head."""
    values = labels.values
    if labels.kind == "classification":
        if out0.dim() != 2:
            raise HarnessError(f"{where}: head {name!r} has output shape {tuple(out0.shape[1:])} per image but its labels "
                               f"are one class per image; classification heads must output (N, classes)")
        k = out0.shape[1]
        if values.max() >= k:
            raise HarnessError(f"{where}: labels of head {name!r} go up to class {int(values.max())}, the head has {k} outputs")
        return Head(name, index, "classification", torch.from_numpy(values.astype(np.int64)), k,
                    probabilities=_looks_like_probabilities(out0))
    if labels.kind == "dense_classification":
        raise HarnessError(f"{where}: head {name!r}: dense classification heads are not supported; "
                           f"use a per-image label (harness.probes.labels.per_image) or a regression head")
    target = torch.from_numpy(np.asarray(values, np.float32))
    if labels.kind == "dense_regression":
        target = target.permute(0, 3, 1, 2)
        if out0.dim() != 4 or out0.shape[1] != target.shape[1]:
            raise HarnessError(f"{where}: head {name!r} has output shape {tuple(out0.shape[1:])} per image; its dense "
                               f"labels have {target.shape[1]} channel(s) (expected an (N, C, H, W) output)")
        target = resize(target, tuple(out0.shape[2:]))
    elif tuple(target.shape[1:]) != tuple(out0.shape[1:]):
        raise HarnessError(f"{where}: head {name!r} has output shape {tuple(out0.shape[1:])} per image, its labels "
                           f"{tuple(target.shape[1:])}")
    target = target.to(out0.dtype)
    if sigma is None:
        sigma = float(((out0 - target) ** 2).mean().sqrt())
    if not sigma > 0:
        raise HarnessError(f"{where}: head {name!r}: the regression noise scale must be positive, got {sigma}")
    return Head(name, index, "regression", target, 0, max(sigma, 1e-6))
