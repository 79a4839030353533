"""Shared test helpers: writing cards and small zoos (in :mod:`devkit.cards`, shared with the benchmarks)."""

from __future__ import annotations

from devkit.cards import TF_LOG_ENV, last_node, write_card, write_zoo

__all__ = ["TF_LOG_ENV", "last_node", "write_card", "write_zoo"]
