"""Ground truths that ship with the harness, by name (``--ground-truth taskonomy``).

``taskonomy``: the public first-order transfer affinities of Taskonomy (Zamir et al., CVPR
2018; ``all_affinities_16k``), AHP-normalised win rates, higher = better source. Used with
the seeds' protocol: Taskonomy's three spellings mapped to the seeds' task names
(:data:`TASKONOMY_ALIASES`), the pseudo-sources ``self`` and ``random`` left out, so 20
tasks are sources and the 18 that Taskonomy measured as targets are evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.common.registry import Registry
from harness.evaluation.ground_truth import TASKONOMY_ALIASES, GroundTruth, load_ground_truth

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class BuiltinTruth:
    name: str
    file: Path
    aliases: dict[str, str]
    description: str

    def load(self) -> GroundTruth:
        return load_ground_truth(self.file, self.aliases)


BUILTIN_TRUTHS: Registry[BuiltinTruth] = Registry("built-in ground truth")
BUILTIN_TRUTHS.add("taskonomy", BuiltinTruth(
    "taskonomy", DATA / "taskonomy_16k_first_order.csv", dict(TASKONOMY_ALIASES),
    "Taskonomy first-order transfer affinities (16k images, AHP win rates): 20 source tasks, 18 targets, seed task names"))


def resolve_ground_truth(spec: str | Path) -> tuple[GroundTruth, str, dict[str, str]]:
    """A built-in name or a CSV path -> (the ground truth, what to call it in reports, the
    aliases that estimates for it go through)."""
    text = str(spec)
    if text in BUILTIN_TRUTHS:
        builtin = BUILTIN_TRUTHS.get(text)
        return builtin.load(), text, dict(builtin.aliases)
    path = Path(text)
    if not path.exists() and "/" not in text and not path.suffix:
        BUILTIN_TRUTHS.get(text)  # neither a file nor a known name: did-you-mean over the built-in names
    return load_ground_truth(path), str(path), {}
