"""greenbank: a personal carbon account and an online deposit platform for banks."""

__version__ = "0.1.0"
