"""Difficulty and class maps at a conv layer, for the three attribution variants of the seed.

* gradient: d = sum_c A_c * ReLU(ds/dA_c); class map c_k = sum_c A_c * dy_k/dA_c (logits).
* ig: integrated gradients along 51 points alpha = i/50 from a black reference image (the
  card's preprocessing applied to zeros): d = sum_c max((A - A_ref) * mean ds/dA, 0) (the seed
  floors negative products at 1e-100 before the channel sum), c_k = sum_c (A - A_ref) * mean dy_k/dA.
* 2ndg: the gradient maps, with |a_l^T H_ll a_l| / 2 added to the difficulty map (the seed
  applies the second-order term to the difficulty attribution only).

Class maps: negatives set to 1e-7, as the seed does.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from harness.attribution.hessian import batched_vjp, output_maps, second_order_quadratic
from harness.model.split import SplitModel
from harness.common.registry import Registry

#: Attribution variants (command-line names).
ATTRIBUTIONS: Registry[str] = Registry("attribution variant")
for _name, _text in (("gradient", "activation x gradient at the layer"),
                     ("ig", "integrated gradients from a black image, 51 points"),
                     ("2ndg", "gradient + |a_l^T H_ll a_l| / 2 (exact Hessian blocks)")):
    ATTRIBUTIONS.add(_name, _text)
CLASS_MAP_FLOOR = 1e-7
IG_STEPS = 50


@dataclass
class DifficultyModel:
    """Where the difficulty score comes from: the classifier itself, or a hardness predictor."""

    split: SplitModel
    score: object  # harness.analyses.explain.scores.Score


@dataclass
class LayerMaps:
    """One batch's explanation at the layer grid."""

    score: torch.Tensor  # (N,) difficulty score
    top: torch.Tensor  # (N, k) top-class indices, most probable first
    probs: torch.Tensor  # (N, k) their softmax probabilities
    difficulty: torch.Tensor  # (N, h, w)
    classes: torch.Tensor  # (N, k, h, w), negatives set to 1e-7
    second_order: str | None = None  # method used for the 2ndG term


def _grad_score(split: SplitModel, score, x: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    a = a.detach().requires_grad_(True)
    with torch.enable_grad():
        s = score.fn(split.logits(x, a))
        (grad,) = torch.autograd.grad(s.sum(), a)
    return s.detach(), grad


def _ig_grads(split: SplitModel, score, x: torch.Tensor, x_ref: torch.Tensor, top: torch.Tensor | None, steps: int):
    """Mean gradients of the score (if given) and of the ``top`` logits (if given) along the path, and A(x_ref)."""
    sum_s, sum_k, a_ref = None, None, None
    for i in range(steps + 1):
        xi = x_ref + (i / steps) * (x - x_ref)
        with torch.no_grad():
            ai = split.body(xi)
        if i == 0:
            a_ref = ai
        ai = ai.detach().requires_grad_(True)
        with torch.enable_grad():
            z = split.logits(xi, ai)
            if score is not None:
                gs = torch.autograd.grad(score.fn(z).sum(), ai, retain_graph=top is not None)[0]
                sum_s = gs if sum_s is None else sum_s + gs
            if top is not None:
                cot = torch.zeros(top.shape[1], *z.shape, dtype=z.dtype, device=z.device)
                cot.scatter_(2, top.T.unsqueeze(-1), 1.0)
                gk = batched_vjp(z, ai, cot)  # (k, N, C, h, w)
                sum_k = gk if sum_k is None else sum_k + gk
    n = steps + 1
    return (None if sum_s is None else sum_s / n), (None if sum_k is None else sum_k / n), a_ref


def difficulty_map(model: DifficultyModel, x: torch.Tensor, attribution: str, x_ref: torch.Tensor,
                   method: str = "auto", steps: int = IG_STEPS) -> tuple[torch.Tensor, torch.Tensor, str | None]:
    """(score (N,), difficulty map (N, h, w), 2ndG method) at the difficulty model's layer."""
    split, score = model.split, model.score
    with torch.no_grad():
        a = split.body(x)
    if attribution == "ig":
        mean_grad, _, a_ref = _ig_grads(split, score, x, x_ref.expand_as(x), None, steps)
        with torch.no_grad():
            s = score.fn(split.logits(x, a))
        return s, ((a - a_ref) * mean_grad).clamp(min=0).sum(1), None
    s, grad = _grad_score(split, score, x, a)
    d = (a * grad.clamp(min=0)).sum(1)
    if attribution != "2ndg":
        return s, d, None
    q, used = second_order_quadratic(split.logits, score.fn, x, a, method)
    return s, d + q.abs() / 2.0, used


def class_maps(split: SplitModel, x: torch.Tensor, top: torch.Tensor, attribution: str, x_ref: torch.Tensor,
               steps: int = IG_STEPS) -> torch.Tensor:
    """(N, k, h, w) class maps of the ``top`` logits, negatives set to 1e-7."""
    with torch.no_grad():
        a = split.body(x)
    if attribution == "ig":
        _, mean_k, a_ref = _ig_grads(split, None, x, x_ref.expand_as(x), top, steps)
        maps = ((a - a_ref).unsqueeze(0) * mean_k).sum(2)
    else:
        maps = output_maps(split.logits, x, a, top)
    maps = maps.permute(1, 0, 2, 3).contiguous()
    return torch.where(maps < 0, torch.full_like(maps, CLASS_MAP_FLOOR), maps)


def explain_batch(split: SplitModel, x: torch.Tensor, difficulty: DifficultyModel, x_difficulty: torch.Tensor,
                  attribution: str, top_k: int, x_ref: torch.Tensor, x_ref_difficulty: torch.Tensor,
                  method: str = "auto") -> LayerMaps:
    """Everything the insecurities need for one batch (x: the classifier's preprocessed input)."""
    ATTRIBUTIONS.get(attribution)
    with torch.no_grad():
        z = split.logits(x, split.body(x))
        probs = torch.softmax(z, dim=-1)
        p_top, top = probs.topk(min(top_k, z.shape[1]), dim=-1)
    if attribution == "ig" and difficulty.split is split:  # one pass along the path for both maps
        mean_s, mean_k, a_ref = _ig_grads(split, difficulty.score, x, x_ref.expand_as(x), top, IG_STEPS)
        with torch.no_grad():
            a = split.body(x)
        s = difficulty.score.fn(z)
        d = ((a - a_ref) * mean_s).clamp(min=0).sum(1)
        c = ((a - a_ref).unsqueeze(0) * mean_k).sum(2).permute(1, 0, 2, 3).contiguous()
        c = torch.where(c < 0, torch.full_like(c, CLASS_MAP_FLOOR), c)
        used = None
    else:
        s, d, used = difficulty_map(difficulty, x_difficulty, attribution, x_ref_difficulty, method)
        c = class_maps(split, x, top, attribution, x_ref)
    if d.shape[-2:] != c.shape[-2:]:  # a hardness predictor with another grid: resample to the class maps'
        d = F.interpolate(d.unsqueeze(1), size=c.shape[-2:], mode="bilinear", align_corners=False).squeeze(1)
    return LayerMaps(s.detach(), top, p_top, d.detach(), c.detach(), used)
