"""DEPARA layer selection: from which layer of a source model to transfer to a target model.

Every candidate layer of the source is scored against the target model's representation (its
probe layer) with DEPARA's node + edge recipe; the best-scoring layer is the one to transfer
from. Candidates: :mod:`.candidates`; the score: :mod:`.score`; evaluation against measured
per-layer transfer: :mod:`.evaluate`.
"""

from harness.layer_selection.candidates import candidate_layers
from harness.layer_selection.score import LayerScore, score_layers

__all__ = ["candidate_layers", "LayerScore", "score_layers"]
