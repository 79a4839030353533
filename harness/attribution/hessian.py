"""The 2ndG term: q_l = a_l^T H_ll a_l for every location l of a conv layer, exactly.

H_ll is the (C x C) block of the Hessian of the score s = g(f(A)) with respect to the
activations at location l, a_l the activation vector there. The seed computed it with a loop
over locations (and channels) of Hessian-vector products (~15 h per 100 images); here:

* ``gauss_newton``: when the head f is piecewise linear (ReLU, max/avg pooling, conv, linear,
  BN in eval), its own second derivative vanishes almost everywhere, so H = J^T G J with J the
  Jacobian of the outputs z and G the Hessian of g at z (K x K). Then
  a_l^T H_ll a_l = u_l^T G u_l with u_{k,l} = sum_c a_{c,l} dz_k/dA_{c,l}: one backward pass
  per output (batched with ``is_grads_batched``) gives every location at once. The u_k are
  also the seed's class maps.
* ``hvp``: for any twice-differentiable head, Hessian-vector products with the direction a
  restricted to one location: one forward and one gradient graph (images are independent in
  an eval-mode head, so the Hessian is block-diagonal over the batch), then the second
  backward vectorised over many locations at once (``is_grads_batched``) on CUDA; on CPU,
  where that measured slower, one backward per location (the loop).
* ``loop``: the seed's cost model, one HVP per location (reference and benchmark baseline).

``auto`` checks, per batch, that the Gauss-Newton product equals the true Hessian product on
a random direction (relative error <= ``PL_RTOL``) and uses ``gauss_newton`` only then.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

HeadFn = Callable[[torch.Tensor | None, torch.Tensor], torch.Tensor]  # (x (N, ...) or None, A (N, C, H, W)) -> outputs (N, K)
ScoreFn = Callable[[torch.Tensor], torch.Tensor]  # outputs (..., K) -> (...)
METHODS = ("auto", "gauss_newton", "hvp", "loop")
#: Tolerance of the piecewise-linearity check (float32 round-off is ~1e-6 relative).
PL_RTOL = 1e-4


#: Outputs from which the score's Hessian is one vectorised call instead of K double-backward
#: passes (measured, 16 images: 4 outputs 2.6 ms vs 0.7 ms, 16: 2.8 vs 2.2, 64: 2.6 vs 8.1).
VECTORISED_FROM = 16


def score_hessian(score: ScoreFn, z: torch.Tensor, vectorised: bool | None = None) -> torch.Tensor:
    """G: the Hessian of the score with respect to the outputs, per image (N, K, K).

    One vectorised call (``torch.func.hessian`` under ``vmap``) where the score allows it, else
    K double-backward passes through the score alone (cheap: it is a function of K numbers);
    images are independent, so differentiating the batch sum gives every image's block.
    ``vectorised`` None: the faster of the two for K outputs (:data:`VECTORISED_FROM`).
    """
    if vectorised is None:
        vectorised = z.shape[-1] >= VECTORISED_FROM
    if vectorised:
        try:
            return torch.func.vmap(torch.func.hessian(score))(z.detach())
        except Exception:  # noqa: BLE001 - a score vmap cannot trace: the textbook way below
            pass
    z = z.detach().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(score(z).sum(), z, create_graph=True)
        if not grad.requires_grad:  # a score linear in z
            return z.new_zeros(*z.shape, z.shape[1])
        rows = [torch.autograd.grad(grad[:, k].sum(), z, retain_graph=True, allow_unused=True)[0] for k in range(z.shape[1])]
    rows = [torch.zeros_like(z) if r is None else r for r in rows]
    return torch.stack(rows, dim=1)  # (N, K, K): row k = d(ds/dz_k)/dz


def output_maps(head: HeadFn, x: torch.Tensor | None, a: torch.Tensor, classes: torch.Tensor | None = None,
                chunk: int = 64) -> torch.Tensor:
    """u[k, n, l] = sum_c a_{c,l} dz_k/dA_{c,l}: one backward per output k, batched.

    ``classes`` (N, k) picks per-image outputs (e.g. the top classes); default: all outputs.
    Returns (k, N, H, W).
    """
    return outputs_and_maps(head, x, a, classes, chunk)[1]


def outputs_and_maps(head: HeadFn, x: torch.Tensor | None, a: torch.Tensor, classes: torch.Tensor | None = None,
                     chunk: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """The head's outputs z (N, K) and :func:`output_maps`, from one forward pass."""
    a = a.detach().requires_grad_(True)
    with torch.enable_grad():
        z = head(x, a)
        n, k_all = z.shape
        index = classes if classes is not None else torch.arange(k_all, device=z.device).expand(n, k_all)
        maps = []
        for start in range(0, index.shape[1], chunk):
            cols = index[:, start:start + chunk]  # (N, k)
            cot = torch.zeros(cols.shape[1], n, k_all, dtype=z.dtype, device=z.device)
            cot.scatter_(2, cols.T.unsqueeze(-1), 1.0)
            jac = batched_vjp(z, a, cot)
            maps.append((jac * a.detach()).sum(2))
    return z.detach(), torch.cat(maps)


def batched_vjp(z: torch.Tensor, a: torch.Tensor, cot: torch.Tensor) -> torch.Tensor:
    """J^T v for each row v of ``cot`` (k, N, K) -> (k, N, C, H, W); a loop where vmap is unsupported."""
    try:
        (jac,) = torch.autograd.grad(z, a, cot, retain_graph=True, is_grads_batched=True)
        return jac
    except RuntimeError:
        return torch.stack([torch.autograd.grad(z, a, v, retain_graph=True)[0] for v in cot])


def quadratic_gauss_newton(head: HeadFn, score: ScoreFn, x: torch.Tensor | None, a: torch.Tensor) -> torch.Tensor:
    """q (N, H, W) for a piecewise-linear head: u_l^T G u_l from per-output backward passes."""
    z, u = outputs_and_maps(head, x, a)  # (N, K), (K, N, H, W)
    g = score_hessian(score, z)  # (N, K, K)
    gu = torch.einsum("nkm,mnhw->knhw", g, u)  # two steps: 4x faster than one three-operand einsum here
    return (u * gu).sum(0)


def quadratic_hvp(head: HeadFn, score: ScoreFn, x: torch.Tensor | None, a: torch.Tensor,
                  max_batch: int = 1024, vectorise: bool | None = None) -> torch.Tensor:
    """q (N, H, W) for any head: Hessian-vector products along a restricted to each location.

    One forward and one gradient graph, as the loop; with ``vectorise`` the second backward runs
    over a chunk of locations at once (``is_grads_batched``: one vmapped pass gives every
    direction's H v); without, this *is* :func:`quadratic_loop` (one backward per location).
    Default: vectorise on CUDA only — on the 2-core CPU the vmapped pass measured 0.4-0.8x the
    per-location backward (benchmarks/explain_bench.py). Where vmap cannot trace a graph, each
    direction of a chunk gets its own backward.
    """
    vectorise = a.is_cuda if vectorise is None else vectorise
    if not vectorise:
        return quadratic_loop(head, score, x, a)
    a0 = a.detach()
    n, _, h, w = a0.shape
    locations = h * w
    per_chunk = max(1, min(locations, max_batch // max(n, 1)))
    a = a0.clone().requires_grad_(True)
    q = a0.new_zeros(n, locations)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(score(head(x, a)).sum(), a, create_graph=True)
        if not grad.requires_grad:  # the score is linear in A
            return q.reshape(n, h, w)
        eye = torch.eye(locations, dtype=a0.dtype, device=a0.device).reshape(locations, 1, 1, h, w)
        for start in range(0, locations, per_chunk):
            v = a0.unsqueeze(0) * eye[start:start + per_chunk]  # (m, N, C, H, W): a at one location each
            hv = _batched_hvp(grad, a, v)
            q[:, start:start + v.shape[0]] = (hv * v).sum((2, 3, 4)).T
    return q.reshape(n, h, w)


def _batched_hvp(grad: torch.Tensor, a: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """H v for each direction v[i] (same shape as ``a``), from the gradient graph of ``grad`` w.r.t. ``a``."""
    try:
        (hv,) = torch.autograd.grad(grad, a, v, retain_graph=True, is_grads_batched=True, allow_unused=True)
    except RuntimeError:  # an op without a vmap rule: one backward per direction
        rows = [torch.autograd.grad(grad, a, d, retain_graph=True, allow_unused=True)[0] for d in v]
        hv = None if rows[0] is None else torch.stack(rows)
    return torch.zeros_like(v) if hv is None else hv


def quadratic_loop(head: HeadFn, score: ScoreFn, x: torch.Tensor | None, a: torch.Tensor) -> torch.Tensor:
    """q (N, H, W) by one Hessian-vector product per location: the seed's cost model."""
    a = a.detach().requires_grad_(True)
    n, _, h, w = a.shape
    q = a.new_zeros(n, h, w)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(score(head(x, a)).sum(), a, create_graph=True)
        if not grad.requires_grad:  # the score is linear in A: no second-order term
            return q
        for i in range(h):
            for j in range(w):
                v = torch.zeros_like(a)
                v[:, :, i, j] = a.detach()[:, :, i, j]
                (hv,) = torch.autograd.grad(grad, a, v, retain_graph=True, allow_unused=True)
                if hv is not None:
                    q[:, i, j] = (hv[:, :, i, j] * v[:, :, i, j]).sum(1)
    return q


def gauss_newton_error(head: HeadFn, score: ScoreFn, x: torch.Tensor | None, a: torch.Tensor, seed: int = 0) -> float:
    """Relative difference between H r and J^T G J r on a random direction r (0 for piecewise-linear heads)."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    r = torch.randn(a.shape, generator=gen, dtype=a.dtype).to(a.device)
    a = a.detach().requires_grad_(True)
    with torch.enable_grad():
        z = head(x, a)
        (grad,) = torch.autograd.grad(score(z).sum(), a, create_graph=True)
        hr = torch.autograd.grad(grad, a, r, retain_graph=True, allow_unused=True)[0] if grad.requires_grad else None
        hr = torch.zeros_like(a) if hr is None else hr
        probe = torch.zeros_like(z, requires_grad=True)
        (jt_probe,) = torch.autograd.grad(z, a, probe, create_graph=True)
        (jr,) = torch.autograd.grad(jt_probe, probe, r)  # J r by the double-vjp trick
        weights = torch.einsum("nkm,nm->nk", score_hessian(score, z), jr)
        (gn,) = torch.autograd.grad(z, a, weights)
    scale = max(float(hr.norm()), float(gn.norm()))
    return 0.0 if scale < 1e-30 else float((hr - gn).norm()) / scale


def second_order_quadratic(head: HeadFn, score: ScoreFn, x: torch.Tensor | None, a: torch.Tensor,
                           method: str = "auto") -> tuple[torch.Tensor, str]:
    """q (N, H, W) and the method used (``auto`` resolves to gauss_newton or hvp)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
    if method == "auto":
        method = "gauss_newton" if gauss_newton_error(head, score, x, a) <= PL_RTOL else "hvp"
    fn = {"gauss_newton": quadratic_gauss_newton, "hvp": quadratic_hvp, "loop": quadratic_loop}[method]
    return fn(head, score, x, a), method
