"""Defaults of a run that the CLI parser shows in its help (kept import-light)."""

#: Attribution methods computed when ``--methods`` is not given.
DEFAULT_METHODS = ("saliency", "gradxinput", "elrp")
#: Probe sizes of ``harness sensitivity`` (the supplementary's range, up to a few hundred images).
DEFAULT_SIZES = (25, 50, 100, 200, 400)
