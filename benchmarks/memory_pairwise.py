"""Peak memory of the pairwise estimators (tracemalloc), in units of N(N-1)/2 float64 values.

Usage: python benchmarks/memory_pairwise.py N_IMAGES N_MODELS; harness/budget.py (PAIR_BYTES_PER_PAIR and the stacked-ranks term) uses the result.
"""
import tracemalloc, numpy as np, sys
from harness.estimators.ranks import condensed_distances, spearman_matrix
n, m, u = int(sys.argv[1]), int(sys.argv[2]), 64
rng = np.random.default_rng(0)
feats = [rng.normal(size=(n, u)).astype(np.float32) for _ in range(m)]
tracemalloc.start()
spearman_matrix(condensed_distances(f, "cosine", centre_columns=True) for f in feats)
cur, peak = tracemalloc.get_traced_memory()
P = n*(n-1)//2
print(n, m, peak/(P*8), "x P*8 bytes")
