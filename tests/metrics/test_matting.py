import math

import numpy as np
import pytest
from scipy import ndimage

from seg_cli.metrics.matting import (
    connectivity_error,
    ellipse_kernel,
    erode,
    gaussian_gradient_kernel,
    generate_trimap,
    gradient_error,
    image_metrics,
    mad,
    mse,
    sad,
)
from seg_cli.metrics.matting_conn import largest_component, threshold_level


def test_one_pixel_off_by_one_level():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 255, (4, 5), dtype=np.uint8)
    gt = truth / 255
    pred = truth.copy()
    pred[2, 3] += 1
    region = np.ones((4, 5), dtype=bool)
    assert sad(pred, gt, region) == pytest.approx(1 / 255 / 1000, rel=1e-9)
    assert mse(pred, gt, region) == pytest.approx((1 / 255) ** 2 / 20, rel=1e-9)
    assert mad(pred, gt, region) == pytest.approx(1 / 255 / 20, rel=1e-9)
    outside = region.copy()
    outside[2, 3] = False
    assert sad(pred, gt, outside) == pytest.approx(0, abs=1e-15) and mse(pred, gt, outside) < 1e-30
    assert mse(pred, gt, np.zeros_like(region)) is None and mad(pred, gt, np.zeros_like(region)) is None


def test_threshold_levels_are_exact_integers():
    assert [threshold_level(k) for k in (1, 5, 6, 10)] == [26, 128, 153, 255]


@pytest.mark.parametrize("level, expected_sum", [
    # 153 reaches t_6 = 0.6: pixels 0-2 stay in Omega through k = 6 and leave at k = 7 (Omega_7 = {4, 5}):
    # l = 0.6; phi(p) = 1 (d = 0), phi(g) = 1 - 0.4; |difference| 0.4 each.
    (153, 3 * 0.4 + 1 + 2 * 25 / 255),
    # 152 misses t_6: they leave at k = 6 (Omega_6 = {4, 5}): l = 0.5; phi(p) = 1 (d = 0.096 < 0.15),
    # phi(g) = 1 - 0.5; |difference| 0.5 each.
    (152, 3 * 0.5 + 1 + 2 * 25 / 255),
])
def test_connectivity_where_threshold_six_decides(level, expected_sum):
    # One row: p = [level x3, 0, 255, 255], g = [1, 1, 1, 1, 230/255, 230/255].
    # k = 1: both reach 26 at pixels {0, 1, 2} and {4, 5}; Omega_1 = {0, 1, 2} (the larger), so pixels 3, 4, 5
    # leave at once: l = 0. Pixel 3: phi(p) = 1 - 0 (d = 0 < 0.15), phi(g) = 1 - 1 -> |difference| 1.
    # Pixels 4, 5 keep l = 0 although Omega_7..8 hold them later: phi(p) = 1 - 1, phi(g) = 1 - 230/255 -> 25/255.
    pred = np.array([[level, level, level, 0, 255, 255]], dtype=np.uint8)
    gt = np.array([[1, 1, 1, 1, 230 / 255, 230 / 255]])
    region = np.ones_like(gt, dtype=bool)
    assert connectivity_error(pred, gt, region) == pytest.approx(expected_sum / 1000, rel=1e-12)


def test_a_pixel_that_left_omega_keeps_its_level():
    # p = [40 x3, 0, 255 x2], g = [40/255 x3, 0, 240/255 x2]. k = 1: Omega_1 = the first three (3 > 2), so the
    # last two leave with l = 0; from k = 2 to 9 Omega is those two, which does not change their l.
    # l = 0: phi(p) = 1 - 1, phi(g) = 1 - 240/255 -> 15/255 each. (Counting their later steps in Omega, l = 0.8,
    # would give 0.2 each; taking their last threshold in Omega, l = 0.9, would give 0.)
    pred = np.array([[40, 40, 40, 0, 255, 255]], dtype=np.uint8)
    gt = np.array([[40, 40, 40, 0, 240, 240]]) / 255
    region = np.ones_like(gt, dtype=bool)
    assert connectivity_error(pred, gt, region) == pytest.approx(2 * 15 / 255 / 1000, rel=1e-12)


def test_connectivity_of_identical_mattes_is_zero_and_of_opposite_ones_is_not():
    rng = np.random.default_rng(1)
    pred = rng.integers(0, 256, (16, 20), dtype=np.uint8)
    region = np.ones(pred.shape, dtype=bool)
    assert connectivity_error(pred, pred / 255, region) == 0.0
    assert connectivity_error(pred, 1 - pred / 255, region) > 0.01


def test_largest_component_is_four_connected_and_the_first_on_ties():
    mask = np.array([[1, 0, 0, 1],
                     [0, 1, 0, 1],
                     [0, 0, 0, 0]], dtype=bool)
    # diagonal neighbours do not connect: {(0,0)}, {(1,1)} and {(0,3), (1,3)}
    assert largest_component(mask).tolist() == [[0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]]
    tie = np.array([[0, 1, 0, 1]], dtype=bool)
    assert largest_component(tie).tolist() == [[0, 1, 0, 0]]
    assert not largest_component(np.zeros((2, 2), dtype=bool)).any()


def test_ellipse_kernel_as_opencv_draws_it():
    assert ellipse_kernel(5).astype(int).tolist() == [[0, 0, 1, 0, 0], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1],
                                                      [1, 1, 1, 1, 1], [0, 0, 1, 0, 0]]
    # even sizes are anchored at size // 2: the last row has no mirror
    assert ellipse_kernel(4).astype(int).tolist() == [[0, 0, 1, 0], [1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]]
    big = ellipse_kernel(25)
    # row i spans 12 +- round(sqrt(144 - (i - 12)^2)): 1 px at the top, 25 in the middle, 2 * 5 + 1 at i = 1
    assert big[0].sum() == 1 and big[12].all() and big[1].sum() == 2 * round(math.sqrt(144 - 121)) + 1
    # mirrored up-down and left-right, not along the diagonal: seven full rows (|dy| <= 3), one pixel at the top
    assert (big == big[::-1]).all() and (big == big[:, ::-1]).all() and big[:, 0].sum() == 7


@pytest.mark.parametrize("size", [2, 4, 5, 8, 25])
def test_erode_equals_scipy_erosion_with_a_set_border(size):
    rng = np.random.default_rng(size)
    mask = rng.random((37, 51)) > 0.1
    expected = ndimage.binary_erosion(mask, ellipse_kernel(size), border_value=1)
    assert (erode(mask, ellipse_kernel(size)) == expected).all()


def test_trimap_of_a_half_plane_has_a_band_of_the_kernel_width_and_no_eroded_border():
    gt = np.zeros((30, 80))
    gt[:, :40] = 1
    trimap = generate_trimap(gt, kernel=25)
    # the middle row of the ellipse reaches 12 px either side: columns 28..39 of the foreground and
    # 40..51 of the background see the other side; top and bottom rows are not eroded (border counts as set)
    assert (trimap[:, :28] == 255).all() and (trimap[:, 52:] == 0).all()
    assert (trimap[:, 28:52] == 128).all()
    assert (generate_trimap(np.ones((9, 9))) == 255).all() and (generate_trimap(np.zeros((9, 9))) == 0).all()


def test_trimap_of_a_disc():
    yy, xx = np.mgrid[:101, :101]
    gt = (np.hypot(yy - 50, xx - 50) <= 30).astype(np.float64)
    gt[(np.hypot(yy - 50, xx - 50) > 29) & (gt > 0)] = 0.5  # a soft rim: neither 0 nor 255
    trimap = generate_trimap(gt, kernel=11)
    distance = np.hypot(yy - 50, xx - 50)
    # 11 px ellipse = radius 5: opaque pixels (radius <= 29) survive within 29 - 5, transparent ones beyond 30 + 5
    assert (trimap[distance <= 23.5] == 255).all() and (trimap[distance >= 35.5] == 0).all()
    assert (trimap[(distance > 24.5) & (distance < 34.5)] == 128).all()
    band = (trimap == 128).sum()
    assert band == pytest.approx(math.pi * (35**2 - 24**2), rel=0.05)
    assert set(np.unique(trimap)) == {0, 128, 255}


def test_gradient_kernel_is_9x9_unit_norm_and_antisymmetric():
    hx = gaussian_gradient_kernel(1.4)
    assert hx.shape == (9, 9)
    assert np.sqrt(np.square(hx).sum()) == pytest.approx(1.0, rel=1e-12)
    assert np.allclose(hx[:, ::-1], -hx, atol=0) and np.allclose(hx[::-1, :], hx, atol=0)
    assert (hx[:, 4] == 0).all() and hx[4, 3] > 0  # dgauss(-1) > 0
    # gauss(0) dgauss(1) / (gauss(0) dgauss(2)) = exp(-1/(2 s^2)) / (2 exp(-4/(2 s^2)))
    assert hx[4, 5] / hx[4, 6] == pytest.approx(math.exp(-1 / 3.92) / (2 * math.exp(-4 / 3.92)), rel=1e-12)


def _direct_gradient_magnitude(image: np.ndarray) -> np.ndarray:
    """DIM's gaussgradient written out: 2-D convolution (flipped kernel) with replicate padding."""
    sigma, half = 1.4, 4
    gauss = [math.exp(-u * u / (2 * sigma**2)) / (sigma * math.sqrt(2 * math.pi)) for u in range(-half, half + 1)]
    hx = np.array([[gauss[i] * -(j - half) * gauss[j] / sigma**2 for j in range(9)] for i in range(9)])
    hx /= math.sqrt((hx**2).sum())
    padded = np.pad(image, half, mode="edge")
    gx, gy = np.zeros_like(image), np.zeros_like(image)
    for y in range(image.shape[0]):
        for x in range(image.shape[1]):
            window = padded[y : y + 9, x : x + 9][::-1, ::-1]  # convolution: the kernel flipped
            gx[y, x], gy[y, x] = (window * hx).sum(), (window * hx.T).sum()
    return np.sqrt(gx**2 + gy**2)


def test_gradient_error_equals_a_direct_convolution():
    rng = np.random.default_rng(2)
    pred = rng.integers(0, 200, (11, 14), dtype=np.uint8)  # max 199: min-max stretching matters
    gt = np.clip(rng.random((11, 14)) * 0.8 + 0.1, 0, 1)
    region = rng.random((11, 14)) > 0.3
    p = pred / 255
    p_norm, g_norm = (p - p.min()) / (p.max() - p.min()), (gt - gt.min()) / (gt.max() - gt.min())
    expected = ((_direct_gradient_magnitude(p_norm) - _direct_gradient_magnitude(g_norm)) ** 2)[region].sum()
    assert gradient_error(pred, gt, region) == pytest.approx(expected / 1000, rel=1e-10)
    assert expected > 1  # not a trivially small number


def test_gradient_error_of_constant_mattes_is_zero():
    region = np.ones((12, 12), dtype=bool)
    assert gradient_error(np.full((12, 12), 77, dtype=np.uint8), np.full((12, 12), 0.3), region) < 1e-25


def _half_plane() -> np.ndarray:
    gt = np.zeros((40, 60))
    gt[:, :30] = 1
    return gt


def test_whole_image_and_trimap_regions_differ():
    gt = _half_plane()  # trimap band (25 px kernel): columns 18..41
    pred = np.rint(gt * 255).astype(np.uint8)
    pred[5, 2] = 0  # inside the eroded foreground: whole image only
    pred[5, 25] = 128  # inside the band: both
    out = image_metrics(pred, gt)
    assert out["sad"] == pytest.approx((1 + 127 / 255) / 1000)
    assert out["sad_trimap"] == pytest.approx((127 / 255) / 1000)
    assert out["mse"] == pytest.approx((1 + (127 / 255) ** 2) / 2400)
    assert out["mse_trimap"] == pytest.approx((127 / 255) ** 2 / (40 * 24))
    assert out["mad_trimap"] == pytest.approx((127 / 255) / (40 * 24))
    assert out["grad"] > out["grad_trimap"] > 0
    # Conn: (5, 2) leaves Omega at k = 1 (l = 0): phi(p) = 1, phi(g) = 1 - 1 -> 1. (5, 25) (both >= 128, not
    # >= 153) leaves at k = 6 (l = 0.5): phi(p) = 1 (d = 0.002), phi(g) = 1 - 0.5 -> 0.5. The rest of the
    # foreground stays to the end (l = 1, phi 1 and 1), the background leaves at k = 1 with p = g = 0.
    assert out["conn"] == pytest.approx(1.5 / 1000) and out["conn_trimap"] == pytest.approx(0.5 / 1000)
    # 128 >= 0.5: no miss at (5, 25); the 0 at (5, 2) is a false negative
    assert (out["tp_at_05"], out["fp_at_05"], out["fn_at_05"]) == (1199, 0, 1)


def test_a_dataset_trimap_and_the_valid_mask_pick_the_pixels():
    gt = _half_plane()
    pred = np.rint(gt * 255).astype(np.uint8)
    pred[5, 2] = 0
    all_unknown_u8, all_unknown_float = np.full(gt.shape, 128, np.uint8), np.full(gt.shape, 0.5)
    for trimap in (all_unknown_u8, all_unknown_float):
        out = image_metrics(pred, gt, trimap=trimap)
        assert out["sad_trimap"] == out["sad"] == pytest.approx(1 / 1000)
    known = np.where(gt > 0, 1.0, 0.0)  # a float trimap of 0 and 1: no unknown pixel
    out = image_metrics(pred, gt, trimap=known)
    assert out["sad_trimap"] == 0 and out["grad_trimap"] == 0 and out["mse_trimap"] is None
    valid = np.ones(gt.shape, dtype=bool)
    valid[5, 2] = False
    out = image_metrics(pred, gt, valid=valid)
    assert out["sad"] == pytest.approx(0, abs=1e-15) and out["mse"] == pytest.approx(0, abs=1e-15)
    nothing = image_metrics(pred, gt, valid=np.zeros(gt.shape, dtype=bool))
    assert nothing["sad"] is None and nothing["sad_trimap"] is None and nothing["tp_at_05"] == 0
