"""``harness compare A/report.json B/report.json``: what changed between two runs, and is it noise.

Exit codes: 0 compared; 2 a file is not a readable harness report, or the two reports are
not comparable (different probe set or method parameters; ``--force`` overrides); 4 a
``--fail-on`` threshold was crossed (the outputs are still written), so CI can gate on it.
"""
