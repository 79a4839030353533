"""Deliberative explanations (NeurIPS 2019): where a classifier hesitates between class pairs.

A difficulty score's attribution map at a late conv layer, class maps of the top classes at
the same layer, and their products per class pair ("insecurities"). Three attribution
variants: gradient, integrated gradients and the gradient-Hessian "2ndG", whose per-location
Hessian blocks are computed exactly without a loop over locations (``hessian.py``).

Kept import-light (no torch here): the CLI parser imports ``harness.analyses.explain.options``.
"""
