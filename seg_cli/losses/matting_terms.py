"""Per-pixel terms of the matting loss, on float32 (B, 1, H, W) alphas in [0, 1] and a (B, 1, H, W) weight.

The weight (the target's validity channel, bilinearly resampled: 0 on padding and on pixels a rotation left
uncovered) weighs every term, and every term is a weighted mean, 0 (not NaN) when a batch has no valid pixel.
Terms that look at neighbours (gradient, Laplacian pyramid) first blend the prediction into the ground truth,
gt + weight x (pred - gt), so that a pixel of weight 0 holds no error for its neighbours to see and a
fractional one holds its weighted share.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# Divides the weighted sums: exact weighted means for any batch with weight, 0 / EPS = 0 for one without.
EPS = 1e-6
# The ground truth's range in a window must exceed this to count as a transition: below one 8-bit step
# (1 / 255) and above the float rounding of a resampled constant region (0.99999994 for 1).
BAND_TOLERANCE = 1e-3
# 1-D binomial (1 4 6 4 1) / 16: its outer product is the 5 x 5 kernel of RobustVideoMatting's pyramid.
BINOMIAL = (1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16)


def weighted_mean(values: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Sum of values x weight over the sum of weight, every channel of `values` counted (weight broadcasts)."""
    channels = values.shape[1] // weight.shape[1]
    return (values * weight).sum() / (weight.sum() * channels).clamp(min=EPS)


def blend_invalid(pred: torch.Tensor, gt: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The prediction with each pixel's error scaled by its weight: the ground truth where the weight is 0."""
    return gt + weight * (pred - gt)


def alpha_l1(pred: torch.Tensor, gt: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean |pred - gt| over valid pixels."""
    return weighted_mean((pred - gt).abs(), weight)


def transition_band(gt: torch.Tensor, weight: torch.Tensor, kernel: int) -> torch.Tensor:
    """1 where the ground truth dilated and eroded by a `kernel` x `kernel` window disagree, else 0.

    Pixels of weight 0 take part in neither (padding next to foreground is no transition); a step edge
    gives a band kernel - 1 pixels wide, kernel // 2 each side of it. The transition term is alpha_l1 weighted
    by weight x band: 0 when there is no band.
    """
    valid = weight > 0
    dilated = _window_max(torch.where(valid, gt, -1.0), kernel)
    eroded = -_window_max(torch.where(valid, -gt, -2.0), kernel)
    return (dilated - eroded > BAND_TOLERANCE).float()


def _window_max(image: torch.Tensor, kernel: int) -> torch.Tensor:
    """Max over a kernel x kernel window, same size, as a row pass then a column pass: the same maximum in 2k
    instead of k^2 comparisons (k = 15, 4 x 320 x 320, 2 CPU threads: 16 against 57 ms)."""
    pad = kernel // 2
    rows = F.max_pool2d(image, (1, kernel), stride=1, padding=(0, pad))
    return F.max_pool2d(rows, (kernel, 1), stride=1, padding=(pad, 0))


def sobel_l1(pred: torch.Tensor, gt: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean |Sobel_x(pred) - Sobel_x(gt)| + |Sobel_y(pred) - Sobel_y(gt)| over valid pixels (edges replicated).

    Sobel is linear, so it is taken of the difference; separable, as a central difference along one axis and
    a (1 2 1) smoothing along the other, divided by 8 so that a ramp rising by 1 a pixel has gradient 1.
    Slices rather than conv2d, whose one-channel backward is slow on CPU (as in _binomial_blur).
    """
    diff = F.pad(blend_invalid(pred, gt, weight) - gt, (1, 1, 1, 1), mode="replicate")
    along_x = diff[..., :, 2:] - diff[..., :, :-2]  # (H + 2, W)
    along_y = diff[..., 2:, :] - diff[..., :-2, :]  # (H, W + 2)
    sobel_x = (along_x[..., :-2, :] + 2 * along_x[..., 1:-1, :] + along_x[..., 2:, :]) / 8
    sobel_y = (along_y[..., :, :-2] + 2 * along_y[..., :, 1:-1] + along_y[..., :, 2:]) / 8
    return weighted_mean(sobel_x.abs() + sobel_y.abs(), weight)


def laplacian_l1(pred: torch.Tensor, gt: torch.Tensor, weight: torch.Tensor, levels: int) -> torch.Tensor:
    """RobustVideoMatting's Laplacian loss: sum over levels of 2^level x mean |Lap_pred - Lap_gt|, over `levels`.

    The pyramid is linear, so it is built once, of the difference. Each level's mean is taken over all its
    pixels, then scaled by all pixels / sum of weight: the mean over valid pixels (invalid ones hold no error).
    A constant offset has no band-pass content and adds 0 here (the L1 term sees it).
    """
    bands = laplacian_pyramid(blend_invalid(pred, gt, weight) - gt, levels)
    total = sum((2**level * band.abs().mean() for level, band in enumerate(bands)), pred.new_zeros(()))
    return total / levels * weight.numel() / weight.sum().clamp(min=EPS)


def laplacian_pyramid(image: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """The band-pass levels of a (B, 1, H, W) image, finest first, each cropped to even sides (the final
    low-pass residual is not one of them). Stops early where a level is under 4 pixels a side (too small
    for the 5 x 5 reflect-padded blur)."""
    bands = []
    current = image
    for _ in range(levels):
        height, width = (side - side % 2 for side in current.shape[-2:])
        if min(height, width) < 4:
            break
        current = current[..., :height, :width]
        down = _binomial_blur(current)[..., ::2, ::2]
        bands.append(current - _upsample(down))
        current = down
    return bands


def _binomial_blur(image: torch.Tensor) -> torch.Tensor:
    """The 5 x 5 binomial blur of a (B, 1, H, W) image, reflect-padded to keep its size.

    Separable, as sums of five shifted copies along each axis: the same values as a 5 x 5 conv2d, whose
    backward for one channel is slow on CPU (a 4 x 320 x 320 pyramid, forward and backward, 2 threads:
    15 ms this way against 79 ms).
    """
    height, width = image.shape[-2:]
    padded = F.pad(image, (2, 2, 2, 2), mode="reflect")
    rows = sum(tap * padded[..., :, shift:shift + width] for shift, tap in enumerate(BINOMIAL))
    return sum(tap * rows[..., shift:shift + height, :] for shift, tap in enumerate(BINOMIAL))


def _upsample(image: torch.Tensor) -> torch.Tensor:
    """Twice the size: zeros inserted between pixels, x 4 (the zeros' share), then the binomial blur."""
    batch, channels, height, width = image.shape
    spread = image.new_zeros(batch, channels, 2 * height, 2 * width)
    spread[..., ::2, ::2] = image * 4
    return _binomial_blur(spread)


def composition_l1(pred: torch.Tensor, gt: torch.Tensor, weight: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """MODNet's image-weighted composition L1: mean |pred x I - gt x I| over valid pixels and the colour channels
    of the (B, C, H, W) image I on the [0, 1] scale (no foreground or background needed)."""
    return weighted_mean(((pred - gt) * image).abs(), weight)
