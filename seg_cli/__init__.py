"""seg: a config-driven command-line trainer for semantic segmentation."""

__version__ = "0.1.0"
