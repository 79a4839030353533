"""Command-line options of ``harness explain`` (torch-free, so building the parser stays cheap)."""

from __future__ import annotations

import argparse
from pathlib import Path

SCORE_NAMES = ("softmax", "entropy", "hardness")
ATTRIBUTION_NAMES = ("gradient", "ig", "2ndg")
DEFAULT_IMAGES = 16


def add_explain_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", help="a classifier's card, or a zoo (folder / zoo file): every classifier in it")
    p.add_argument("--layer", default=None,
                   help="ONNX node or tensor name of a conv feature map (default: the card's probe layer if 4-D)")
    p.add_argument("--score", default="softmax", help="difficulty score: softmax (1 - max p) | entropy | hardness "
                                                      "(the card's hardness predictor)")
    p.add_argument("--attribution", default="gradient", help="gradient | ig (integrated gradients) | 2ndg (gradient-Hessian)")
    p.add_argument("--top-classes", type=int, default=5, help="class maps for this many most probable classes")
    p.add_argument("--pairs-per-location", type=int, default=3,
                   help="at each location the classes with the largest class maps, this many, give the class pairs")
    p.add_argument("--keep", type=float, default=0.2, help="fraction of the image each insecurity mask keeps (0 < keep <= 1)")
    p.add_argument("--probe", default=None, help="built-in probe set name or image folder / imlist file "
                                                 "(default: the zoo's, else synthetic-indoor)")
    p.add_argument("--images", type=int, default=None, help=f"number of probe images (default: {DEFAULT_IMAGES})")
    p.add_argument("--seed", type=int, default=0, help="probe sampling / generation seed")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: runs/explain-<card or zoo>)")
