"""The matting loss, term by term, on values computed by hand."""

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from seg_cli.commands import schema
from seg_cli.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from seg_cli.errors import ConfigError
from seg_cli.losses.matting import MattingLoss
from seg_cli.losses.matting_terms import laplacian_l1, laplacian_pyramid, sobel_l1, transition_band
from seg_cli.paths import config_dir

ALL_TERMS = {"gradient_weight": 1.0, "composition_weight": 1.0}  # the two terms off by default, on


def target_of(gt: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """A (B, 3, H, W) matting target: alpha, weight (1 unless given) and a trimap the loss must ignore."""
    weight = torch.ones_like(gt) if weight is None else weight
    return torch.cat([gt, weight, torch.rand_like(gt)], 1)


def normalised(pixels: torch.Tensor, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> torch.Tensor:
    """(B, 3, H, W) images on the [0, 1] scale as the dataset hands them over."""
    return (pixels - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


def logits_of(alpha: torch.Tensor) -> torch.Tensor:
    return torch.logit(alpha.clamp(0.01, 0.99))


def step_edge(height: int = 8, width: int = 40, edge: int = 20) -> torch.Tensor:
    """Alpha 0.01 left of column `edge`, 0.99 from it on (clamped so that logits exist)."""
    gt = torch.full((1, 1, height, width), 0.01)
    gt[..., edge:] = 0.99
    return gt


def test_a_perfect_prediction_gives_zero_for_every_term():
    torch.manual_seed(0)
    gt = torch.rand(2, 1, 24, 32) * 0.98 + 0.01
    images = torch.randn(2, 3, 24, 32)
    loss = MattingLoss(**ALL_TERMS)
    terms = loss.terms(logits_of(gt), target_of(gt), images)
    assert set(terms) == {"l1", "transition", "laplacian", "gradient", "composition"}
    assert all(value.item() < 1e-5 for value in terms.values()), terms
    assert loss(logits_of(gt), target_of(gt), images=images).item() < 1e-5


def test_l1_of_a_constant_error_ignores_the_trimap_and_invalid_pixels():
    gt = torch.full((2, 1, 6, 6), 0.3)
    weight = torch.ones_like(gt)
    weight[..., :3] = 0  # half the image padding
    logits = torch.zeros(2, 1, 6, 6)  # alpha 0.5: an error of 0.2 everywhere
    terms = MattingLoss().terms(logits, target_of(gt, weight))
    assert terms["l1"].item() == pytest.approx(0.2)
    assert terms["transition"].item() == 0.0  # a constant matte has no transition band
    assert MattingLoss(transition_weight=0, laplacian_weight=0, l1_weight=3)(logits, target_of(gt)).item() == \
        pytest.approx(0.6)


@pytest.mark.parametrize("kernel", [3, 15])
def test_the_band_of_a_step_edge_is_kernel_minus_one_pixels_wide(kernel):
    gt = step_edge()
    band = transition_band(gt, torch.ones_like(gt), kernel)
    columns = band[0, 0].amax(0).nonzero().flatten().tolist()
    assert columns == list(range(20 - kernel // 2, 20 + kernel // 2))
    assert (band[0, 0] == band[0, 0, :1]).all()  # every row alike


def test_transition_l1_averages_over_the_band_only():
    gt = step_edge()
    far, near = gt.clone(), gt.clone()
    far[..., :5] = 0.5  # errors of 0.49 in 5 of 40 columns, outside the 14-column band
    near[..., 20] = 0.5  # an error of 0.49 (0.99 - 0.5) in 1 column inside it
    loss = MattingLoss()
    far_terms, near_terms = loss.terms(logits_of(far), target_of(gt)), loss.terms(logits_of(near), target_of(gt))
    assert far_terms["l1"].item() == pytest.approx(0.49 * 5 / 40, rel=1e-4)
    assert far_terms["transition"].item() == pytest.approx(0.0, abs=1e-6)
    assert near_terms["l1"].item() == pytest.approx(0.49 / 40, rel=1e-4)
    assert near_terms["transition"].item() == pytest.approx(0.49 / 14, rel=1e-4)


def test_padding_beside_the_foreground_is_no_transition():
    gt = torch.full((1, 1, 8, 20), 0.99)
    weight = torch.ones_like(gt)
    gt[..., 12:], weight[..., 12:] = 0.0, 0.0  # padding, alpha 0 there
    assert transition_band(gt, weight, 15).sum() == 0
    assert MattingLoss().terms(torch.zeros(1, 1, 8, 20), target_of(gt, weight))["transition"].item() == 0.0


def test_a_pixel_of_weight_zero_changes_no_term():
    torch.manual_seed(1)
    gt = torch.rand(2, 1, 32, 32)
    weight = torch.rand(2, 1, 32, 32)
    weight[:, :, 10:20, 5:25] = 0  # a hole, as a rotation leaves in a corner
    images, logits = torch.randn(2, 3, 32, 32), torch.randn(2, 1, 32, 32)
    other = torch.where(weight > 0, logits, torch.randn_like(logits) * 10)
    loss = MattingLoss(**ALL_TERMS)
    before, after = loss.terms(logits, target_of(gt, weight), images), loss.terms(other, target_of(gt, weight), images)
    for name, value in before.items():
        assert after[name].item() == pytest.approx(value.item(), abs=1e-7), name
    assert before["gradient"].item() > 0 and before["laplacian"].item() > 0


def test_a_constant_offset_has_no_laplacian_and_a_checkerboard_only_the_finest_level():
    # The 5 x 5 binomial blur keeps a constant (reflect padding included) and the zero-insertion upsample
    # x 4 brings it back whole: every band-pass level of a constant is 0, and RVM's loss (which leaves out
    # the low-pass residual) does not see an offset at all; the L1 term does.
    offset = torch.full((1, 1, 64, 64), 0.1)
    assert all(band.abs().max() < 1e-6 for band in laplacian_pyramid(offset, 5))
    gt = torch.full((1, 1, 64, 64), 0.5)
    terms = MattingLoss().terms(logits_of(gt + 0.1), target_of(gt))
    assert terms["laplacian"].item() < 1e-6 and terms["l1"].item() == pytest.approx(0.1, rel=1e-4)
    # (1 -4 6 -4 1) / 16 = 0: the blur removes a checkerboard (reflect padding keeps its phase), so the
    # finest level holds it whole and the coarser ones nothing: loss = 2^0 x 0.1 / levels.
    signs = (torch.arange(64)[:, None] + torch.arange(64)[None]) % 2 * 2 - 1
    checker = gt + 0.1 * signs
    bands = laplacian_pyramid(checker - gt, 5)
    assert [round(band.abs().mean().item(), 6) for band in bands] == [0.1, 0, 0, 0, 0]
    assert [tuple(band.shape[-2:]) for band in bands] == [(64, 64), (32, 32), (16, 16), (8, 8), (4, 4)]
    ones = torch.ones_like(gt)
    assert laplacian_l1(checker, gt, ones, 5).item() == pytest.approx(0.1 / 5, rel=1e-4)
    assert laplacian_l1(checker, gt, ones, 1).item() == pytest.approx(0.1, rel=1e-4)


def test_the_pyramid_follows_rvms_definition_written_with_a_5x5_convolution():
    # blur: 5 x 5 outer product of (1 4 6 4 1) / 16, reflect padding; down: every second pixel;
    # up: zeros between pixels, x 4, blur; band = image - up(down(image)).
    taps = torch.tensor([1.0, 4, 6, 4, 1]) / 16
    kernel = (taps[:, None] * taps[None])[None, None]

    def blur(x):
        return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), kernel)

    torch.manual_seed(4)
    image = torch.rand(2, 1, 16, 12)
    down = blur(image)[..., ::2, ::2]
    spread = torch.zeros_like(image)
    spread[..., ::2, ::2] = 4 * down
    bands = laplacian_pyramid(image, 2)
    assert torch.allclose(bands[0], image - blur(spread), atol=1e-6)
    assert bands[1].shape[-2:] == (8, 6)


def test_laplacian_weighs_level_l_by_two_to_the_l_and_stops_at_small_sizes():
    torch.manual_seed(2)
    gt, pred = torch.rand(1, 1, 37, 50), torch.rand(1, 1, 37, 50)
    bands = laplacian_pyramid(pred - gt, 5)
    assert [tuple(b.shape[-2:]) for b in bands] == [(36, 50), (18, 24), (8, 12), (4, 6)]  # 2 x 3 is too small
    expected = sum(2**level * band.abs().mean() for level, band in enumerate(bands)) / 5
    assert laplacian_l1(pred, gt, torch.ones_like(gt), 5).item() == pytest.approx(expected.item(), rel=1e-6)


def test_sobel_is_the_3x3_kernel_divided_by_8():
    torch.manual_seed(5)
    gt, pred = torch.rand(2, 1, 9, 11), torch.rand(2, 1, 9, 11)
    kernel_x = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]]) / 8
    padded = F.pad(pred - gt, (1, 1, 1, 1), mode="replicate")
    both = F.conv2d(padded, torch.stack([kernel_x, kernel_x.T])[:, None]).abs().sum(1)
    assert sobel_l1(pred, gt, torch.ones_like(gt)).item() == pytest.approx(both.mean().item(), rel=1e-5)


def test_gradient_term_of_a_ramp_by_hand():
    # pred rises by 0.01 a column, gt is flat: Sobel_x (divided by 8) of the difference is 0.01 inside
    # and 0.005 in the first and last columns (replicated edges), Sobel_y is 0.
    columns = 10
    gt = torch.full((1, 1, 6, columns), 0.4)
    pred = gt + 0.01 * torch.arange(columns).view(1, 1, 1, columns)
    expected = (0.01 * (columns - 2) + 2 * 0.005) / columns
    terms = MattingLoss().terms(logits_of(pred), target_of(gt))
    assert terms["gradient"].item() == pytest.approx(expected, rel=1e-3)
    down = MattingLoss().terms(logits_of(pred.transpose(2, 3)), target_of(gt.transpose(2, 3)))  # along y
    assert down["gradient"].item() == pytest.approx(expected, rel=1e-3)


def test_composition_uses_the_denormalised_image():
    gt = torch.full((1, 1, 4, 4), 0.3)
    logits = torch.zeros(1, 1, 4, 4)  # alpha 0.5: error 0.2
    pixels = torch.full((1, 3, 4, 4), 0.8)
    loss = MattingLoss(l1_weight=0, transition_weight=0, laplacian_weight=0, composition_weight=1)
    assert loss.takes_images and not MattingLoss().takes_images
    assert loss(logits, target_of(gt), images=normalised(pixels)).item() == pytest.approx(0.8 * 0.2)
    own = MattingLoss(composition_weight=1, mean=[0.5] * 3, std=[0.25] * 3)
    terms = own.terms(logits, target_of(gt), normalised(pixels, [0.5] * 3, [0.25] * 3))
    assert terms["composition"].item() == pytest.approx(0.16)
    with pytest.raises(ValueError, match="images="):
        loss(logits, target_of(gt))
    unused = torch.zeros(1, 1, 4, 4)  # composition off: images given anyway are not read
    assert MattingLoss()(logits, target_of(gt), images=unused).item() == MattingLoss()(logits, target_of(gt)).item()
    with pytest.raises(ConfigError, match="3 / 3 values but the images have 1"):
        own(logits, target_of(gt), images=torch.zeros(1, 1, 4, 4))


def test_no_valid_pixel_gives_zero_not_nan_with_finite_gradients():
    gt = step_edge()
    logits = torch.randn(1, 1, 8, 40, requires_grad=True)
    loss = MattingLoss(**ALL_TERMS)
    value = loss(logits, target_of(gt, torch.zeros_like(gt)), images=torch.randn(1, 3, 8, 40))
    value.backward()
    assert value.item() == 0.0 and torch.isfinite(logits.grad).all()


def test_gradients_flow_in_float32_under_bfloat16_autocast():
    torch.manual_seed(3)
    model = torch.nn.Conv2d(3, 1, 3, padding=1)
    images, gt = torch.randn(2, 3, 32, 32), torch.rand(2, 1, 32, 32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(images)
        assert logits.dtype == torch.bfloat16
        value = MattingLoss(**ALL_TERMS)(logits, target_of(gt), images=images)
    assert value.dtype == torch.float32 and torch.isfinite(value)
    outside = MattingLoss(**ALL_TERMS)(logits.detach().float(), target_of(gt), images=images)
    assert value.item() == pytest.approx(outside.item(), rel=1e-6)  # no term ran in bfloat16
    value.backward()
    assert torch.isfinite(model.weight.grad).all() and model.weight.grad.abs().sum() > 0


def test_aux_and_side_outputs_add_their_weighted_loss():
    gt = torch.full((1, 1, 4, 4), 0.3)
    errors = {"out": 0.2, "aux": 0.1, "side1": 0.3, "side2": 0.4}
    outputs = {name: torch.full((1, 1, 4, 4), torch.logit(torch.tensor(0.3 + e)).item()) for name, e in errors.items()}
    only_l1 = {"transition_weight": 0, "laplacian_weight": 0}
    plain = MattingLoss(aux_weight=0.5, **only_l1)(outputs, target_of(gt)).item()
    assert plain == pytest.approx(0.2 + 0.5 * 0.1 + 0.3 + 0.4, rel=1e-5)
    weighted = MattingLoss(aux_weight=0, side_weights=[2.0, 0.0], **only_l1)(outputs, target_of(gt)).item()
    assert weighted == pytest.approx(0.2 + 2 * 0.3, rel=1e-5)
    with pytest.raises(ConfigError, match="side_weights lists only 1"):
        MattingLoss(side_weights=[1.0])(outputs, target_of(gt))


def test_bad_settings_and_outputs_are_named():
    for kwargs, message in [({"transition_kernel": 4}, "must be odd"), ({"laplacian_levels": 0}, ">= 1"),
                            ({"gradient_weight": -1}, "gradient_weight=-1"), ({"std": [0, 1, 1]}, "> 0")]:
        with pytest.raises(ConfigError, match=message):
            MattingLoss(**kwargs)
    gt = torch.full((1, 1, 4, 4), 0.3)
    with pytest.raises(ConfigError, match="one-channel model output"):
        MattingLoss()(torch.zeros(1, 2, 4, 4), target_of(gt))
    with pytest.raises(ValueError, match="C >= 2"):
        MattingLoss()(torch.zeros(1, 1, 4, 4), gt)


def test_smaller_outputs_are_resized_to_the_target():
    gt = torch.full((1, 1, 8, 8), 0.3)
    assert MattingLoss().terms(torch.zeros(1, 1, 4, 4), target_of(gt))["l1"].item() == pytest.approx(0.2)


def test_the_yaml_follows_the_datasets_normalisation():
    schema.register()
    with initialize_config_dir(config_dir=str(Path(config_dir())), version_base=None):
        default = compose("train", overrides=["loss=matting"])
        own = compose("train", overrides=["loss=matting", "dataset.mean=[0.5,0.5,0.5]", "dataset.std=[0.2,0.2,0.2]",
                                          "train.aux_loss_weight=0.25"])
    built, built_own = instantiate(default.loss), instantiate(own.loss)
    assert isinstance(built, MattingLoss) and built.task == "matting"
    assert built.mean is None and built.std is None and not built.takes_images
    assert built_own.mean == [0.5] * 3 and built_own.std == [0.2] * 3 and built_own.aux_weight == 0.25
