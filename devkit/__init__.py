"""Development kit shared by ``tests/`` and ``benchmarks/`` (never installed).

Small architecture families (``devkit.archs``) and writers of cards and zoo files
(``devkit.cards``): what both the test suite and the benchmarks need to build models, kept
out of ``tests/`` so that the benchmarks do not depend on the test suite's internals.
"""
