"""Difficulty scores s(z) of a classifier's outputs z (the seed's three choices).

Each score maps one image's output vector to a scalar and is smooth where it is used, so its
Hessian with respect to z exists (the 2ndG term needs it). ``hardness`` reads the output of a
separate hardness-predictor model (one logit per image) and applies a sigmoid.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from harness.common.registry import Registry


@dataclass(frozen=True)
class Score:
    name: str
    fn: Callable[[torch.Tensor], torch.Tensor]  # (..., K) -> (...)
    description: str
    needs_hardness_model: bool = False


SCORES: Registry[Score] = Registry("difficulty score")


def _softmax(z: torch.Tensor) -> torch.Tensor:
    return 1.0 - torch.softmax(z, dim=-1).max(dim=-1).values


def _entropy(z: torch.Tensor) -> torch.Tensor:
    logp = torch.log_softmax(z, dim=-1)
    return -(logp.exp() * logp).sum(-1) / math.log(max(z.shape[-1], 2))


def _hardness(z: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(z[..., 0])


for _score in (
    Score("softmax", _softmax, "1 - max softmax probability"),
    Score("entropy", _entropy, "entropy of the softmax, divided by log(classes)"),
    Score("hardness", _hardness, "sigmoid of a hardness predictor's logit (card field 'hardness')", True),
):
    SCORES.add(_score.name, _score)
