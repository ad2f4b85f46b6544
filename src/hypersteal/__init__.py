"""hypersteal: steal the hyperparameters of trained machine-learning models."""

__version__ = "0.1.0"
