"""Attribution parameters: one frozen record, so a run's settings can be hashed and reported."""

from __future__ import annotations

import math
from dataclasses import dataclass

from harness.common.errors import HarnessError

TARGET_KINDS = ("probe_sum", "unit", "argmax")


@dataclass(frozen=True)
class AttributionParams:
    """Knobs of every attribution method (the defaults are the NeurIPS 2019 seed settings).

    ``target``: which scalar per sample is explained, with the same names as a card's
    ``target.kind``: ``probe_sum`` (sum of all output units), ``unit`` (output unit ``unit``,
    a flat index into one sample's output) or ``argmax`` (the largest output unit at ``x``,
    fixed for the whole attribution, so integrated gradients follow one class along the path).
    ``eps``: the epsilon-LRP stabiliser. ``ig_steps``: trapezoid intervals of integrated
    gradients (``ig_steps + 1`` gradient evaluations). ``ig_batch``: the most path images sent
    through the model at once (bounds memory; at least one path point per pass).
    ``ig_baseline``: the reference image in *preprocessed* units, a constant or one value per
    channel; 0 is a black image only when preprocessing maps black to 0.
    ``activation_types``: module types, besides the built-in ones, that epsilon-LRP treats
    as elementwise nonlinearities ``y = f(z)``.
    """

    eps: float = 1e-4
    ig_steps: int = 50
    ig_batch: int = 64
    ig_baseline: float | tuple[float, ...] = 0.0
    target: str = "probe_sum"
    unit: int | None = None
    activation_types: tuple[type, ...] = ()

    def __post_init__(self) -> None:
        if not _finite(self.eps) or self.eps <= 0:
            _fail("eps", "a positive number", self.eps)
        for name in ("ig_steps", "ig_batch"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                _fail(name, "a positive integer", value)
        base = self.ig_baseline
        if not (_finite(base) or (isinstance(base, tuple) and base and all(_finite(v) for v in base))):
            _fail("ig_baseline", "a finite number or a non-empty tuple of them (one per channel)", base)
        if self.target not in TARGET_KINDS:
            _fail("target", f"one of {', '.join(TARGET_KINDS)}", self.target)
        if self.target == "unit" and (isinstance(self.unit, bool) or not isinstance(self.unit, int) or self.unit < 0):
            _fail("unit", "a non-negative integer when target is 'unit'", self.unit)
        if not isinstance(self.activation_types, tuple) or not all(isinstance(t, type) for t in self.activation_types):
            _fail("activation_types", "a tuple of module classes", self.activation_types)


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _fail(name: str, expected: str, got: object) -> None:
    raise HarnessError(f"attribution parameter {name}: expected {expected}, got {got!r}")
