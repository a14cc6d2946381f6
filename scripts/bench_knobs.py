"""A/B timings of the knobs behind scripts/bench.py's gaps (issue #5), one small experiment each.

    python scripts/bench_knobs.py --model lraspp_mobilenet_v3_large --batch 4 --crop 256 --only channels_last,threads

Each experiment times its variants interleaved (A, B, A, B, ...) and keeps the best of --repeats, so a
machine shared with other processes slows all variants alike. Prints one line per variant, then one JSON
object (experiment -> variant -> milliseconds) as the last line.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import Batches, compose_config, sync, training_parts  # noqa: E402

EXPERIMENTS = ("channels_last", "grad_mode", "item_sync", "threads", "confmat", "eval_shapes", "eval_batch", "decode",
               "loader", "workers")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="unet_small")
    p.add_argument("--dataset", default="synthetic")
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--crop", type=int, default=None)
    p.add_argument("--device", default="auto")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--eval-batch", type=int, default=None)
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default); 1 keeps "
                   "A/B comparisons stable on a machine shared with other processes")
    p.add_argument("--repeats", type=int, default=5, help="interleaved rounds per experiment (best kept)")
    p.add_argument("--iters", type=int, default=3, help="calls timed per variant and round")
    p.add_argument("--eval-images", type=int, default=16, help="validation images of eval_shapes / eval_batch")
    p.add_argument("--eval-batch-alt", type=int, default=4, help="eval_batch: the batch compared with 1")
    p.add_argument("--steps", type=int, default=10, help="workers: training steps per timed block")
    p.add_argument("--workers-alt", default="0,1", help="workers: the DataLoader worker counts compared")
    p.add_argument("--pad-multiple", type=int, default=32, help="eval_shapes: pad H and W up to this multiple")
    p.add_argument("--only", default=",".join(EXPERIMENTS), help="comma-separated subset of: " + ", ".join(EXPERIMENTS))
    p.add_argument("overrides", nargs="*", help="extra seg config overrides")
    return p.parse_args(argv)


def compare(variants: dict[str, Callable[[], Any]], repeats: int, iters: int, device: torch.device) -> dict[str, float]:
    """Best milliseconds per call of each variant, timed interleaved after one untimed call each."""
    for fn in variants.values():
        fn()
    best = {name: float("inf") for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            sync(device)
            start = time.perf_counter()
            for _ in range(iters):
                fn()
            sync(device)
            best[name] = min(best[name], (time.perf_counter() - start) / iters * 1000)
    return best


def train_step(model, config, device, images, masks, item: bool = True) -> Callable[[], None]:
    """One seg training step (forward, loss, backward, optimizer step), optionally with loss.item()."""
    criterion, optimizer, _, scaler, dtype = training_parts(model, config, device, 1)

    def step() -> None:
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            loss = criterion(model(images), masks)
        if item:
            loss.item()
        optimizer.zero_grad(set_to_none=True)
        (scaler.scale(loss) if scaler is not None else loss).backward()
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()

    return step


def random_batch(config, device, batch: int | None = None):
    from seg_cli.values import size_pair

    d = config["dataset"]
    batch = batch or config["train"]["batch_size"]
    crop = size_pair("dataset.crop_size", d["crop_size"])
    images = torch.randn(batch, 3, *crop, device=device)
    return images, torch.randint(0, d["num_classes"], (batch, *crop), device=device)


def forward(model, images, grad_mode=torch.inference_mode) -> Callable[[], None]:
    def run() -> None:
        with grad_mode():
            model(images)

    return lambda: (model.eval(), run())


def exp_channels_last(model, config, device, args) -> dict[str, float]:
    images, masks = random_batch(config, device)
    model_cl = copy.deepcopy(model).to(memory_format=torch.channels_last)
    images_cl = images.contiguous(memory_format=torch.channels_last)
    step = train_step(model, config, device, images, masks)
    step_cl = train_step(model_cl, config, device, images_cl, masks)
    return compare({
        "train contiguous": lambda: (model.train(), step()),
        "train channels_last": lambda: (model_cl.train(), step_cl()),
        "eval contiguous": forward(model, images), "eval channels_last": forward(model_cl, images_cl),
    }, args.repeats, args.iters, device)


def exp_grad_mode(model, config, device, args) -> dict[str, float]:
    images, _ = random_batch(config, device, config["eval"]["batch_size"])
    return compare({"no_grad": forward(model, images, torch.no_grad),
                    "inference_mode": forward(model, images, torch.inference_mode)}, args.repeats, args.iters, device)


def exp_item_sync(model, config, device, args) -> dict[str, float]:
    images, masks = random_batch(config, device)
    model.train()
    return compare({"step with loss.item()": train_step(model, config, device, images, masks, item=True),
                    "step without": train_step(model, config, device, images, masks, item=False)},
                   args.repeats, args.iters, device)


def exp_threads(model, config, device, args) -> dict[str, float]:
    images, masks = random_batch(config, device)
    model.train()
    step, default = train_step(model, config, device, images, masks), torch.get_num_threads()

    def with_threads(n: int) -> Callable[[], None]:
        return lambda: (torch.set_num_threads(n), step(), torch.set_num_threads(default))

    return compare({f"train step, {n} thread(s)": with_threads(n) for n in sorted({1, default})},
                   args.repeats, args.iters, device)


def update_masked_gather(confmat, target: torch.Tensor, pred: torch.Tensor, ignore_index: int) -> None:
    """The confusion update seg used before: ignored pixels gathered out with a boolean mask."""
    n = confmat.num_classes
    target, pred = target.flatten(), pred.flatten()
    keep = (target != ignore_index) & (target < n)
    codes = target[keep].to(torch.int64) * n + pred[keep].to(torch.int64)
    confmat.mat += torch.bincount(codes, minlength=n * n).reshape(n, n)


def exp_confmat(model, config, device, args) -> dict[str, float]:
    """Per val image: forward vs. what evaluate adds (resize to the label, argmax, confusion update),
    argmax(1) (before) vs. max(1).indices (seg now), the boolean-gather update (before) vs. seg's."""
    from seg_cli.data.build import build_dataset
    from seg_cli.metrics.confusion import ConfusionMatrix

    d = config["dataset"]
    image, mask = build_dataset(d, "val", train=False)[0]
    image, mask = image[None].to(device), mask.to(device)
    model.eval()
    with torch.inference_mode():
        logits = model(image)
        logits = (logits["out"] if isinstance(logits, dict) else logits).float()
    size = tuple(mask.shape[-2:])
    resized = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
    pred = resized.argmax(1)[0]
    reference, fast = ConfusionMatrix(d["num_classes"], device), ConfusionMatrix(d["num_classes"], device)
    reference.update(mask, pred, d["ignore_index"])
    update_masked_gather(fast, mask, pred, d["ignore_index"])
    assert torch.equal(reference.mat, fast.mat) and torch.equal(pred, resized.max(1).indices[0])
    return compare({
        "forward": forward(model, image),
        "resize logits to the label": lambda: F.interpolate(logits, size=size, mode="bilinear", align_corners=False),
        "argmax(1)": lambda: resized.argmax(1),
        "max(1).indices": lambda: resized.max(1).indices,
        "boolean-gather update (before)": lambda: update_masked_gather(fast, mask, pred, d["ignore_index"]),
        "ConfusionMatrix.update (extra bin)": lambda: reference.update(mask, pred, d["ignore_index"]),
    }, args.repeats, args.iters * 10, device)


def exp_eval_shapes(model, config, device, args) -> dict[str, float]:
    """Val images one by one at their own sizes vs. padded to a multiple of --pad-multiple (fewer shapes)."""
    from seg_cli.data.build import build_dataset

    dataset = build_dataset(config["dataset"], "val", train=False)
    images = [dataset[i][0][None].to(device) for i in range(min(args.eval_images, len(dataset)))]
    m = args.pad_multiple
    padded = [F.pad(x, (0, -x.shape[-1] % m, 0, -x.shape[-2] % m)) for x in images]

    def over(batches: list[torch.Tensor]) -> Callable[[], None]:
        return lambda: [forward(model, x)() for x in batches]

    print(f"eval_shapes: {len({x.shape for x in images})} shapes at own size, "
          f"{len({x.shape for x in padded})} padded to x{m}", file=sys.stderr)
    return {k: v / len(images) for k, v in compare(
        {"own sizes (ms/img)": over(images), f"padded to x{m} (ms/img)": over(padded)},
        args.repeats, 1, device).items()}


def exp_eval_batch(model, config, device, args) -> dict[str, float]:
    """seg's evaluate over the whole val split with eval batch 1 vs. --eval-batch-alt (batches of one padded
    shape each, as build_eval_loader groups them)."""
    from seg_cli.data.build import build_dataset, build_eval_loader
    from seg_cli.engine.loop import evaluate

    d, t, e = config["dataset"], config["train"], config["eval"]
    dataset = build_dataset(d, "val", train=False, resize_mask=e["resolution"] == "resized")
    if t["channels_last"]:  # the model as seg evaluates it
        model = copy.deepcopy(model).to(memory_format=torch.channels_last)

    def run(batch: int) -> Callable[[], None]:
        loader = build_eval_loader(dataset, batch, t["workers"], pin_memory=device.type == "cuda",
                                   pad_multiple=e["pad_multiple"])
        return lambda: evaluate(model, Batches(loader, len(loader), 0, device, False), device, d["num_classes"],
                                d["ignore_index"])

    return {k: v / len(dataset) for k, v in compare({f"evaluate, eval batch {b} (ms/img)": run(b)
                                                     for b in (1, args.eval_batch_alt)}, args.repeats, 1, device).items()}


def exp_decode(model, config, device, args) -> dict[str, float]:
    """A VOC-sized photo (500x375 JPEG) and palette mask: PIL (seg_cli.data.io) vs. torchvision.io."""
    import numpy as np
    from PIL import Image
    from torchvision.io import ImageReadMode, decode_image, read_file

    from seg_cli.data.io import load_image, load_mask

    rng = np.random.default_rng(0)
    photo = (np.linspace(0, 255, 500)[None, :, None] + rng.normal(0, 20, (375, 500, 3))).clip(0, 255)
    labels = np.where(rng.random((375, 500)) > 0.5, 5, 0).astype(np.uint8)
    with tempfile.TemporaryDirectory(prefix="seg-knobs-") as folder:
        jpg, png = str(Path(folder) / "a.jpg"), str(Path(folder) / "a.png")
        Image.fromarray(photo.astype(np.uint8)).save(jpg, quality=90)
        Image.fromarray(labels).convert("P").save(png)
        return compare({
            "jpeg PIL load_image": lambda: load_image(jpg),
            "jpeg torchvision decode_image": lambda: decode_image(read_file(jpg), ImageReadMode.RGB,
                                                                  apply_exif_orientation=True),
            "png mask PIL load_mask": lambda: load_mask(png),
            "png mask torchvision decode_image": lambda: decode_image(read_file(png), ImageReadMode.UNCHANGED),
        }, args.repeats, args.iters * 10, torch.device("cpu"))


def exp_loader(model, config, device, args) -> dict[str, float]:
    """The real train set through DataLoaders of other settings (no model): ms per batch of a full pass,
    and the wait for the first batch of an epoch with persistent workers vs. workers started afresh."""
    from torch.utils.data import DataLoader

    from seg_cli.data.build import build_dataset

    t = config["train"]
    dataset = build_dataset(config["dataset"], "train", train=True)

    def loader(workers: int, prefetch: int | None = None, persistent: bool = True) -> DataLoader:
        return DataLoader(dataset, batch_size=t["batch_size"], shuffle=True, num_workers=workers, drop_last=True,
                          prefetch_factor=prefetch, persistent_workers=persistent and workers > 0)

    passes = {f"{w} workers, prefetch {p} (ms/batch)": loader(w, p) for w, p in ((0, None), (1, 2), (2, 2), (2, 4))}
    per_pass = compare({name: (lambda lo=lo: sum(1 for _ in lo)) for name, lo in passes.items()},
                       max(1, args.repeats // 2), 1, torch.device("cpu"))
    results = {name: ms / len(passes[name]) for name, ms in per_pass.items()}
    workers = max(1, t["workers"])
    first = {"persistent": loader(workers), "fresh": loader(workers, persistent=False)}
    results.update(compare({f"first batch, {workers} {kind} workers": (lambda lo=lo: next(iter(lo)))
                            for kind, lo in first.items()}, args.repeats, 1, torch.device("cpu")))
    return results


def exp_workers(model, config, device, args) -> dict[str, float]:
    """seg's train_one_epoch and evaluate fed by loaders with --workers-alt workers, against the compute
    ceiling (train_one_epoch on random batches in memory), all interleaved: ms per image. The model runs
    as seg runs it (channels_last per the config, so run this experiment alone or last), and the train
    set has seg's data.cache_mib cache (each loader's workers keep their own)."""
    from bench import Stream, random_batches

    from seg_cli.data.build import build_dataset, build_eval_loader, build_train_loader
    from seg_cli.data.cache import make_cache
    from seg_cli.engine.loop import evaluate, train_one_epoch

    d, t, e = config["dataset"], config["train"], config["eval"]
    counts = [int(w) for w in args.workers_alt.split(",")]
    if t["channels_last"]:  # as seg train runs it
        model.to(memory_format=torch.channels_last)
    criterion, optimizer, scheduler, scaler, dtype = training_parts(model, config, device, 10**6)
    train_set = build_dataset(d, "train", train=True)
    train_set.cache = make_cache(config["data"]["cache_mib"])
    val_set = build_dataset(d, "val", train=False, resize_mask=e["resolution"] == "resized")
    n_val = min(args.eval_images, len(val_set))

    def epoch(batches) -> Callable[[], None]:
        return lambda: train_one_epoch(model, criterion, optimizer, batches, scheduler, device, 0, scaler=scaler,
                                       amp_dtype=dtype)

    variants = {"train, ceiling (ms/img)": epoch(random_batches(config, device, args.steps))}
    for w in counts:
        stream = Stream(build_train_loader(train_set, t["batch_size"], w, config["seed"]))
        variants[f"train, {w} workers (ms/img)"] = (lambda s=stream: epoch(s.block(args.steps))())
    train = {k: v / (args.steps * t["batch_size"]) for k, v in compare(variants, args.repeats, 1, device).items()}

    cached, images_seen = [], 0  # the first val batches that hold n_val images
    for batch in build_eval_loader(val_set, e["batch_size"], 0, pad_multiple=e["pad_multiple"]):
        if images_seen >= n_val:
            break
        cached.append(batch)
        images_seen += len(batch[0])

    def forward_only() -> None:
        model.eval()
        with torch.inference_mode():
            for images, *_ in cached:
                model(images.to(device))

    variants = {"eval, forward only (ms/img)": forward_only}
    for w in counts:
        loader = build_eval_loader(val_set, e["batch_size"], w, pad_multiple=e["pad_multiple"])
        variants[f"eval, {w} workers (ms/img)"] = (lambda lo=loader: evaluate(
            model, Batches(lo, len(cached), 0, device, False), device, d["num_classes"], d["ignore_index"]))
    evals = {k: v / images_seen for k, v in compare(variants, args.repeats, 1, device).items()}
    return {**train, **evals}


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from seg_cli.engine.distributed import local_device
    from seg_cli.models.build import build_model

    bench_args = argparse.Namespace(model=args.model, dataset=args.dataset, device=args.device, crop=args.crop,
                                    batch=args.batch, workers=args.workers, eval_batch=args.eval_batch,
                                    overrides=args.overrides)
    config = compose_config(bench_args)
    device = local_device(args.device)
    from seg_cli.data.build import resolve_workers

    config["train"]["workers"] = resolve_workers(config["train"]["workers"], device)  # "auto" as seg resolves it
    torch.manual_seed(config["seed"])
    model = build_model(config["model"]).to(device)
    results = {}
    for name in args.only.split(","):
        results[name] = globals()[f"exp_{name}"](model, config, device, args)
        for variant, ms in results[name].items():
            print(f"{name:<14} {variant:<44} {ms:10.2f} ms", flush=True)
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
