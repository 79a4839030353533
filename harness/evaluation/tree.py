"""Task similarity tree: single linkage on affinity rows with optimal leaf ordering.

Replaces the seeds' MATLAB script. Row s of ``A[source, target]`` is how model s transfers
to every target; models whose rows are close (Euclidean) merge early. Outputs a Newick
string, a text dendrogram (one leaf per line) and the leaf order for heatmaps.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import ClusterNode, leaves_list, linkage, optimal_leaf_ordering, to_tree
from scipy.spatial.distance import pdist

from harness.common.errors import HarnessError

# Newick reads an unquoted '_' as a blank, so names with it are quoted as well.
_NEEDS_QUOTES = re.compile(r"[\s()\[\]':;,_]")
_BOX = {  # (up, down, left, right) -> character
    (0, 0, 1, 1): "─", (1, 1, 0, 0): "│", (0, 1, 0, 1): "┌", (1, 0, 0, 1): "└", (0, 1, 1, 0): "┐",
    (1, 0, 1, 0): "┘", (1, 1, 0, 1): "├", (1, 1, 1, 0): "┤", (0, 1, 1, 1): "┬", (1, 0, 1, 1): "┴",
    (1, 1, 1, 1): "┼", (0, 0, 0, 1): "╶", (0, 0, 1, 0): "╴", (1, 0, 0, 0): "╵", (0, 1, 0, 0): "╷",
}


@dataclass(frozen=True)
class TaskTree:
    """The clustering of models by their affinity rows."""

    model_ids: tuple[str, ...]
    linkage: np.ndarray  # scipy linkage matrix after optimal leaf ordering; (N-1, 4)
    newick: str
    text: str
    leaf_order: list[str]


def newick_name(name: str) -> str:
    """A Newick label: quoted (with '' for ') when it holds blanks, punctuation or '_'."""
    if name and not _NEEDS_QUOTES.search(name):
        return name
    return "'" + name.replace("'", "''") + "'"


def _newick(node: ClusterNode, names: Sequence[str], parent_height: float | None) -> str:
    label = newick_name(names[node.id]) if node.is_leaf() else (
        f"({_newick(node.left, names, node.dist)},{_newick(node.right, names, node.dist)})")
    return label if parent_height is None else f"{label}:{parent_height - node.dist:.6g}"


def _text(z: np.ndarray, names: Sequence[str], order: list[int], width: int, ascii_only: bool) -> str:
    n = len(names)
    top = float(z[-1, 2]) if len(z) else 0.0
    grid = [[[0, 0, 0, 0] for _ in range(width + 1)] for _ in range(n)]  # up, down, left, right
    row_of = {leaf: r for r, leaf in enumerate(order)}
    for r in range(n):
        grid[r][width][3] = 1  # the leaf's branch runs on into its name
    col_of = {leaf: width for leaf in range(n)}

    def run(row: int, c0: int, c1: int) -> None:
        for c in range(c0, c1 + 1):
            grid[row][c][3] |= c < c1
            grid[row][c][2] |= c > c0

    for k, (a, b, h, _) in enumerate(z):
        node, col = n + k, min(width - 1, round((1 - h / top) * (width - 1))) if top > 0 else 0
        ra, rb = sorted((row_of[int(a)], row_of[int(b)]))
        for child in (int(a), int(b)):
            run(row_of[child], col, col_of[child])
        for r in range(ra, rb + 1):
            grid[r][col][0] |= r > ra
            grid[r][col][1] |= r < rb
        row_of[node], col_of[node] = (ra + rb) // 2, col
    lines = []
    for r, leaf in enumerate(order):
        chars = [_BOX.get(tuple(cell), " ") for cell in grid[r]]
        if ascii_only:
            chars = ["-" if ch in "─╶╴" else "|" if ch in "│╵╷" else " " if ch == " " else "+" for ch in chars]
        lines.append(("".join(chars) + " " + names[leaf]).rstrip())
    return "\n".join(lines)


def task_tree(affinity: np.ndarray, model_ids: Sequence[str], *, width: int = 40, ascii_only: bool = False) -> TaskTree:
    """Cluster ``affinity`` rows (single linkage, Euclidean, optimal leaf ordering); deterministic."""
    rows = np.asarray(affinity, dtype=np.float64)
    ids = tuple(model_ids)
    if rows.ndim != 2 or rows.shape[0] != len(ids) or not ids:
        raise HarnessError(f"task tree: affinity has shape {rows.shape}, expected one row per model ({len(ids)})")
    if not np.all(np.isfinite(rows)):
        raise HarnessError("task tree: the affinity matrix contains NaN or inf; the tree needs every entry")
    if len(ids) == 1:
        return TaskTree(ids, np.zeros((0, 4)), f"{newick_name(ids[0])};", ids[0], [ids[0]])
    dist = pdist(rows, "euclidean")
    z = optimal_leaf_ordering(linkage(rows, method="single", metric="euclidean"), dist)
    order = [int(i) for i in leaves_list(z)]
    newick = _newick(to_tree(z), ids, None) + ";"
    text = _text(z, ids, order, max(width, 2), ascii_only)
    return TaskTree(ids, z, newick, text, [ids[i] for i in order])
