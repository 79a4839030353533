"""Weighted evidence and contributions (the seed's featurecontribution.py, restated).

Classification heads (the seed): with p = p(y | x) and p_u = sum_s w_s p(y | x, unit <- sample s)
at the true class y, both corrected as p' = (p * 1e6 + 1) / (1e6 * K) (K classes),

    WE = log2 odds(p') - log2 odds(p_u'),   odds(q) = q / (1 - q).

Regression heads (our analogue; the seed defines classification only): the target's Gaussian
log-likelihood per output element replaces the class probability (see heads.py), and since a
density has no odds, the evidence is the log-likelihood ratio in bits,

    WE = (log L(t | x) - log sum_s w_s L_s(t | x)) / ln 2.

A unit's contribution to a task is |mean of WE over the images|, over the images that every
classification head of the model classifies correctly (the seed's filter; all images when the
model has no classification head).
"""

from __future__ import annotations

import math

import torch

from harness.analyses.sharing.heads import Head

CORRECTION = 1e6
#: |mean WE| below this many bits is rounding noise (a head the unit cannot reach gets exactly 0).
ZERO_BITS = 1e-9


def corrected(p: torch.Tensor, n_classes: int) -> torch.Tensor:
    """The seed's Laplace-style correction, keeping p away from 0 and 1."""
    return (p * CORRECTION + 1.0) / (CORRECTION * n_classes)


def log2_odds(p: torch.Tensor) -> torch.Tensor:
    return torch.log2(p) - torch.log2(1.0 - p)


def mixture_loglik(loglik: torch.Tensor, log_weights: torch.Tensor) -> torch.Tensor:
    """(U, S, N) sample log-likelihoods, (U, S) log weights -> (U, N) log of the weighted mixture."""
    return torch.logsumexp(log_weights.unsqueeze(-1) + loglik, dim=1)


def weighted_evidence(head: Head, loglik0: torch.Tensor, loglik: torch.Tensor, log_weights: torch.Tensor) -> torch.Tensor:
    """(U, N) weighted evidence, in bits, that each unit carries for the head's target on each image."""
    loglik0, loglik, log_weights = loglik0.double(), loglik.double(), log_weights.double()
    mixed = mixture_loglik(loglik, log_weights)
    if head.kind == "classification":
        p0 = corrected(loglik0.exp(), head.n_classes)
        pu = corrected(mixed.exp(), head.n_classes)
        return log2_odds(p0).unsqueeze(0) - log2_odds(pu)
    return (loglik0.unsqueeze(0) - mixed) / math.log(2.0)


def contributions(evidence: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """(U, N) evidence, (N,) images to average over -> (U,) |mean evidence|."""
    c = evidence[:, keep].mean(dim=1).abs()
    return torch.where(c < ZERO_BITS, torch.zeros_like(c), c)
