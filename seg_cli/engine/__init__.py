"""The training and evaluation loops, checkpoints, schedulers and the distributed plumbing.

Nothing here sees a Hydra config: callers pass plain Python values.
"""
