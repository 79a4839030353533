"""The embedded default zoo (mini-taskonomy) and the scripts that build it (zoo.build)."""
