"""Datasets, image/mask loading, the paired transforms and the dataset downloads."""
