"""The harness from Python (notebooks, scripts): ``import harness.api as th``.

Every function goes through the code the command line uses (``th.run`` through
``harness.run.pipeline.run_config`` like ``harness run``), so options, checks, reports and
one-line :class:`~harness.common.errors.HarnessError` messages are the same. See docs/python.md.
"""

from harness.api.results import Affinity, EvaluationRow, Result
from harness.api.running import compare, evaluate, load_report, run
from harness.api.zoos import add_keras, add_torch, load_zoo, zoo_from_cards
from harness.common.errors import HarnessError
from harness.model.zoo import Zoo

__all__ = ["Affinity", "EvaluationRow", "HarnessError", "Result", "Zoo", "add_keras", "add_torch", "compare", "evaluate",
           "load_report", "load_zoo", "run", "zoo_from_cards"]
