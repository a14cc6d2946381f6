"""Datasets, image/mask loading and the paired transforms."""
