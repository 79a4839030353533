"""Feature sharing by parameter marginalisation (the FeatureSharing seed, DESIGN.md 4.5).

For a multi-task model: which units of a layer serve which task, and how many serve both.
Modules: units (layers, units, Gaussian samples), heads (targets, log-likelihoods),
marginalise (fast batched path and the seed's loop), evidence (weighted evidence,
contributions), measures (sharing measures, bootstrap CIs), figure, write, run (the command).
"""
