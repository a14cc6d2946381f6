"""evaluate() with per-image results: each row belongs to the sample it names, whatever the batching."""

import torch
from torch import nn
from torch.utils.tensorboard import SummaryWriter

from seg_cli.data.build import build_dataset, build_eval_loader
from seg_cli.data.replay import ReplayLoader
from seg_cli.engine.loop import evaluate
from seg_cli.engine.panels import draw_panel, log_worst_panels, save_worst_panels
from seg_cli.metrics.per_image import PerImageResults
from seg_cli.metrics.scorers import build_scorer

SYNTHETIC = {"_target_": "seg_cli.data.synthetic.SyntheticShapes", "num_classes": 4, "val_size": 9,
             "min_side": 40, "max_side": 70, "base_size": 48, "crop_size": 40}
CPU = torch.device("cpu")


def evaluated(dataset, loader, task="multiclass"):
    torch.manual_seed(0)
    model = nn.Conv2d(3, dataset.num_classes, 3, padding=1)
    scorer = build_scorer(task, dataset.num_classes, 255, dataset.class_names)
    results = PerImageResults(task, dataset.num_classes)
    evaluate(model, loader, CPU, dataset.num_classes, scorer=scorer, per_image=results)
    return model, scorer, results.rows(dataset.sample_name, dataset.class_names)


def test_rows_name_their_samples_and_add_up_to_the_confusion_matrix():
    dataset = build_dataset(SYNTHETIC, "val", train=False)
    names = [f"pixels_{c}" for c in dataset.class_names]
    per_batch = []
    for batch_size in (1, 4):
        loader = build_eval_loader(dataset, batch_size, 0, pad_multiple=16)
        _, scorer, rows = evaluated(dataset, ReplayLoader(loader, 64) if batch_size == 4 else loader)
        assert [r["index"] for r in rows] == list(range(len(dataset)))
        for row in rows:  # the labelled pixels of the very sample the row names
            counts = torch.bincount(dataset[row["index"]][1].flatten().long(), minlength=256)
            assert [row[n] for n in names] == counts[: len(names)].tolist()
            assert row["image"] == dataset.sample_name(row["index"])
        assert [sum(r[n] for r in rows) for n in names] == scorer.confmat.mat.sum(1).tolist()
        per_batch.append(rows)
    assert per_batch[0] == per_batch[1]


def test_worst_panels_are_drawn_and_logged(tmp_path):
    dataset = build_dataset(SYNTHETIC, "val", train=False)
    model, _, rows = evaluated(dataset, build_eval_loader(dataset, 2, 0))
    image, mask = dataset[0]
    panel = draw_panel(model, dataset, 0, CPU, "multiclass")
    assert panel.shape == (3, *mask.shape[-2:-1], 3 * mask.shape[-1] + 4) and 0 <= panel.min() <= panel.max() <= 1
    paths = save_worst_panels(tmp_path / "worst", model, dataset, CPU, rows, 3, "multiclass")
    worst = sorted(rows, key=lambda r: (r["miou"], r["index"]))[0]
    assert [p.name[:7] for p in paths] == ["rank01_", "rank02_", "rank03_"]
    assert paths[0].name == f"rank01_{worst['image'].rsplit('/', 1)[-1]}.png" and paths[0].is_file()
    writer = SummaryWriter(str(tmp_path / "tb"))
    log_worst_panels(writer, "val/worst", model, dataset, CPU, rows, 2, step=3, task="multiclass")
    writer.close()
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))
