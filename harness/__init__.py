"""Model-agnostic benchmark harness for deep model transferability."""

__version__ = "0.1.0"
