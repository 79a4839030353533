"""DEPARA layer selection: from which layer of a source model to transfer to a target model.

Every candidate layer of the source is scored against the target model's representation (its
probe layer) with DEPARA's node + edge recipe; the best-scoring layer is the one to transfer
from. Candidates: :mod:`.candidates`; the score: :mod:`.score`; evaluation against measured
per-layer transfer: :mod:`.evaluate`. Nothing is imported here: the CLI loads the command
lazily (building the parser must not import torch).
"""

from pathlib import Path

#: Measured per-layer transfer, beside the zoo's ground truth.
LAYER_TRUTH = Path("ground_truth") / "layers.csv"
