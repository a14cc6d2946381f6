import pytest
import torch

from seg_cli.engine.schedulers import cosine_lr, poly_lr


def lrs(scheduler, optimizer, steps):
    out = []
    for _ in range(steps):
        out.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return out


def make_optimizer(lr=1.0):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def test_poly_decays_with_power_per_iteration():
    opt = make_optimizer()
    values = lrs(poly_lr(opt, total_steps=10, steps_per_epoch=5, power=0.9), opt, 10)
    assert values == pytest.approx([(1 - i / 10) ** 0.9 for i in range(10)])


def test_linear_warmup_then_poly():
    opt = make_optimizer()
    values = lrs(poly_lr(opt, total_steps=12, steps_per_epoch=2, warmup_epochs=1, warmup_factor=0.1), opt, 4)
    assert values == pytest.approx([0.1, 0.55, 1.0, (1 - 1 / 10) ** 0.9])


def test_cosine_reaches_min_ratio():
    opt = make_optimizer(2.0)
    values = lrs(cosine_lr(opt, total_steps=5, steps_per_epoch=5, min_lr_ratio=0.1), opt, 6)
    assert values[0] == pytest.approx(2.0)
    assert values[-1] == pytest.approx(0.2)
    assert values[2] == pytest.approx(2.0 * (0.1 + 0.9 * 0.5 * (1 + torch.cos(torch.tensor(torch.pi * 0.4)).item())))


def test_scheduler_state_is_plain_data_and_round_trips(tmp_path):
    opt = make_optimizer()
    sched = poly_lr(opt, total_steps=10, steps_per_epoch=5)
    lrs(sched, opt, 3)
    torch.save(sched.state_dict(), tmp_path / "s.pt")
    opt2 = make_optimizer()
    sched2 = poly_lr(opt2, total_steps=10, steps_per_epoch=5)
    sched2.load_state_dict(torch.load(tmp_path / "s.pt", weights_only=True))
    assert sched2.last_epoch == 3 and sched2.get_last_lr() == sched.get_last_lr()
