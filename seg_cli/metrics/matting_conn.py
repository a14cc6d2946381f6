"""The connectivity error of alpha mattes (Rhemann et al. 2009, as Deep Image Matting's evaluation code runs it).

At thresholds t_k = k / 10, k = 1..10, Omega_k is the largest 4-connected component of the pixels where both
mattes reach t_k. A pixel's level l is the last threshold at which it was still in Omega (t_0 = 0 holds every
pixel; one that leaves at step k gets t_(k-1) for good, even if a later Omega holds it again; one never
leaving gets 1). With d = alpha - l, phi(alpha) = 1 - d [d >= 0.15], and the error map is |phi(p) - phi(g)|.

Thresholds are compared on 8-bit integers, so that alpha 153/255 = 0.6 reaches t_6 without a float compare:
x reaches t_k iff round(255 x) >= ceil(25.5 k). Ties between largest components go to the first one in
row-major scan order (scipy's labelling order).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

STEPS = 10  # thresholds 0.1, 0.2, ..., 1.0
DELTA = 0.15  # phi ignores distances below it
FOUR_CONNECTED = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=bool)


def threshold_level(k: int) -> int:
    """The 8-bit level of t_k = k / 10: ceil(25.5 k) (26 for k = 1, 153 for k = 6, 255 for k = 10)."""
    return (51 * k + 1) // 2


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 4-connected component of a bool mask (all False when the mask is empty)."""
    labels, count = ndimage.label(mask, structure=FOUR_CONNECTED)
    if count == 0:
        return np.zeros(mask.shape, dtype=bool)
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    sizes[0] = 0  # the background
    return labels == int(sizes.argmax())  # argmax: the first label on ties


def last_levels(pred: np.ndarray, gt8: np.ndarray) -> np.ndarray:
    """l per pixel of two 8-bit mattes: the last threshold at which the pixel was in Omega (see the module's
    docstring), counted as the steps 1..k it spent in Omega without a break."""
    both = np.minimum(pred, gt8)  # a pixel reaches t_k in both mattes iff the lower of them does
    inside = np.ones(pred.shape, dtype=bool)  # in Omega at every step so far
    steps = np.zeros(pred.shape, dtype=np.uint8)
    for k in range(1, STEPS + 1):
        inside &= largest_component(both >= threshold_level(k))
        if not inside.any():  # every level is set: the later thresholds change nothing
            break
        steps += inside
    return steps / STEPS


def connectivity_error_map(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """|phi(p) - phi(g)| per pixel of an 8-bit matte `pred` and a float alpha `gt` in [0, 1]."""
    gt = gt.astype(np.float64)
    levels = last_levels(pred.astype(np.uint8), np.rint(np.clip(gt, 0, 1) * 255).astype(np.uint8))
    return np.abs(_phi(pred.astype(np.float64) / 255, levels) - _phi(gt, levels))


def _phi(alpha: np.ndarray, levels: np.ndarray) -> np.ndarray:
    d = alpha - levels
    return 1 - d * (d >= DELTA)
