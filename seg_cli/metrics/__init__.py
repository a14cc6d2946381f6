"""Evaluation metrics built on a confusion matrix."""
