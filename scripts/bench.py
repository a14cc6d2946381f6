"""Benchmark seg (issue #5): compute ceiling vs. the real data pipeline and loop, predict, start-up.

    python scripts/bench.py --model lraspp_mobilenet_v3_large --batch 4 --crop 256 --device cpu --steps 10

Prints a table, then one JSON object as the last line. Every number comes from seg's own code:
the config is composed from configs/train.yaml exactly as `seg train` composes it (extra `key=value`
arguments are passed on as overrides), and the end-to-end numbers run `build_train_loader` +
`train_one_epoch` and `build_eval_loader` + `evaluate`. Training is timed after one epoch through the
loader (loader_cold_ips), as a run's later epochs see it (decoded samples in the data.cache_mib cache). `--crop` other than the dataset's crop scales `base_size` (and a synthetic set's image
sides) by the same factor, so images keep their proportion to the crop. bare_frac compares seg's training with the model's bare PyTorch step (forward, cross-entropy, backward,
optimizer step) on random in-memory batches. Evaluation is timed three ways
(see bench_eval): eval_first_ips (new shapes, as `seg eval` sees them), eval_ips (the loader again, shapes
warm) and eval_replay_ips (a training run's later evaluations, from the eval cache); the forward-only
ceiling runs the model on the very batches the val loader yields, so each eval_*_frac isolates loading
and scoring.
On CUDA every clock reading is preceded by torch.cuda.synchronize; AMP follows train.amp as in seg.
Start-up and `seg predict` timings come from scripts/bench_cli.py; scripts/bench_knobs.py A/B-times
the individual knobs (channels_last, threads, argmax, confusion update, eval batch, decoding, loader).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cli import predict_ms, startup_times  # noqa: E402

SIZE_KEYS = ("base_size", "min_side", "max_side")  # dataset keys scaled with --crop when present


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="unet_small", help="option of configs/model/")
    p.add_argument("--dataset", default="synthetic", help="option of configs/dataset/")
    p.add_argument("--batch", type=int, default=None, help="train batch (default: train.batch_size)")
    p.add_argument("--crop", type=int, default=None, help="train crop (default: dataset.crop_size)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--steps", type=int, default=20, help="timed training steps")
    p.add_argument("--warmup", type=int, default=3, help="untimed batches before each measurement")
    p.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: train.workers)")
    p.add_argument("--eval-batch", type=int, default=None, help="default: eval.batch_size")
    p.add_argument("--eval-images", type=int, default=32, help="validation images timed")
    p.add_argument("--predict-images", type=int, default=8, help="images given to `seg predict`")
    p.add_argument("--rounds", type=int, default=5,
                   help="alternating ceiling / end-to-end blocks: best rate kept, ratios as the median of rounds")
    p.add_argument("--repeats", type=int, default=3, help="runs of each start-up / predict timing (best kept)")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    p.add_argument("--worker-nice", type=int, default=0, help="lower the DataLoader workers' CPU priority by N")
    p.add_argument("--startup", choices=("all", "help", "none"), default="all",
                   help="`seg` start-up timings: --help only, or also a one-step `seg train`")
    p.add_argument("--train-only", action="store_true",
                   help="time training only (ceilings and end to end): no evaluation, predict or start-up")
    p.add_argument("overrides", nargs="*", help="extra seg config overrides, e.g. dataset.root=/data")
    return p.parse_args(argv)


def compose_config(args: argparse.Namespace) -> dict[str, Any]:
    """configs/train.yaml composed with the bench's flags, as the plain dict `seg train` uses."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from seg_cli.commands import schema
    from seg_cli.paths import config_dir

    schema.register()
    base = [f"model={args.model}", f"dataset={args.dataset}", f"train.device={args.device}"]
    with initialize_config_dir(config_dir(), version_base=None):
        defaults = compose("train", overrides=base)
        extra = []
        if args.crop and args.crop != defaults.dataset.crop_size:
            scale = args.crop / defaults.dataset.crop_size
            extra = [f"dataset.crop_size={args.crop}"] + [
                f"dataset.{k}={round(defaults.dataset[k] * scale)}" for k in SIZE_KEYS if k in defaults.dataset]
        for key, value in (("train.batch_size", args.batch), ("train.workers", args.workers),
                           ("eval.batch_size", args.eval_batch)):
            if value is not None:
                extra.append(f"{key}={value}")
        cfg = compose("train", overrides=base + extra + list(args.overrides))
    return OmegaConf.to_container(cfg, resolve=True)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Batches:
    """The first `limit` batches of `loader`; `start` is the clock when batch `warmup` is requested."""

    def __init__(self, loader, limit: int, warmup: int, device: torch.device, channels_last: bool) -> None:
        self.loader, self.limit, self.warmup = loader, min(limit, len(loader)), warmup
        self.dataset = loader.dataset
        self.device, self.channels_last, self.start = device, channels_last, None

    def __len__(self) -> int:
        return self.limit

    def __iter__(self):
        for i, batch in enumerate(self.loader):
            if i == self.limit:
                return
            if i == self.warmup:
                sync(self.device)
                self.start = time.perf_counter()
            if self.channels_last:
                batch = (batch[0].contiguous(memory_format=torch.channels_last), *batch[1:])
            yield batch


def renice_workers(loader, nice: int) -> None:
    """--worker-nice: each DataLoader worker lowers its own priority first (the loader's init still runs)."""
    if nice:
        loader.worker_init_fn = functools.partial(_renice_worker, nice, loader.worker_init_fn)


def _renice_worker(nice: int, previous, worker_id: int) -> None:
    os.nice(nice)
    if previous is not None:
        previous(worker_id)


def training_parts(model: torch.nn.Module, config: dict[str, Any], device: torch.device, steps: int):
    """(criterion, optimizer, scheduler, scaler, amp dtype) for `model` from seg's own builders, the schedule
    spanning `steps` optimizer steps (for scripts/bench_knobs.py, which times models of its own)."""
    from seg_cli.data.build import build_dataset
    from seg_cli.engine.runtime import amp_dtype, grad_scaler
    from seg_cli.engine.training import build_criterion, build_optimizer, build_scheduler

    t = config["train"]
    optimizer = build_optimizer(model, config)
    scheduler = build_scheduler(optimizer, {**config, "train": {**t, "epochs": 1, "max_steps": None}},
                                steps_per_epoch=steps)
    dtype = amp_dtype(device, t["amp"], t["amp_dtype"])
    criterion = build_criterion(config["loss"], build_dataset(config["dataset"], "train", train=True), model)
    return criterion, optimizer, scheduler, grad_scaler(dtype), dtype


class Stream:
    """`count` batches at a time from one long-lived pass over `loader` (a new epoch when one ends),
    so timed blocks can alternate with ceiling blocks without restarting the workers."""

    def __init__(self, loader) -> None:
        self.loader, self.epoch, self.iterator = loader, 0, iter(loader)

    def skip(self, count: int) -> None:
        """Load `count` batches and drop each at once (peak memory stays one batch)."""
        for _ in self._batches(count):
            pass

    def block(self, count: int):
        """An iterable of the next `count` batches, fetched lazily (what train_one_epoch consumes)."""
        stream = self

        class Block:
            def __len__(self) -> int:
                return count

            def __iter__(self):
                return stream._batches(count)

        return Block()

    def _batches(self, count: int):
        for _ in range(count):
            try:
                batch = next(self.iterator)
            except StopIteration:
                self.epoch += 1
                self.loader.sampler.set_epoch(self.epoch)
                self.iterator = iter(self.loader)
                batch = next(self.iterator)
            yield batch


def random_batches(config: dict[str, Any], device: torch.device, count: int) -> list:
    """Batches shaped and typed like the train loader's (float images, uint8 masks), already on the device."""
    from seg_cli.values import size_pair

    d, batch = config["dataset"], config["train"]["batch_size"]
    crop = size_pair("dataset.crop_size", d["crop_size"])
    images = torch.randn(batch, 3, *crop, device=device)
    masks = torch.randint(0, max(2, d["num_classes"]), (batch, *crop), device=device)
    return [(images, masks.to(torch.uint8))] * count


def bare_step_ips(training, batches: list, device: torch.device) -> float:
    """Images per second of the model's bare training step on in-memory batches: forward, cross-entropy on
    "out", backward, optimizer step, in plain PyTorch (no seg loop, loss module, scheduler or AMP): the
    ceiling the issue measures seg's training against."""
    import torch.nn.functional as F

    from seg_cli.models.contract import model_outputs

    model, optimizer = training.model, training.optimizer
    model.train()
    sync(device)
    tick = time.perf_counter()
    for images, masks in batches:  # as seg's loop: the model is channels_last when asked, inputs as made
        loss = F.cross_entropy(model_outputs(model(images))["out"], masks.long(), ignore_index=255)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    sync(device)
    return sum(len(images) for images, _ in batches) / (time.perf_counter() - tick)


def bench_train(training, config: dict[str, Any], args) -> list[dict[str, float]]:
    """Per round: seg's train_one_epoch over random batches in memory (the compute ceiling), then over
    the next batches of seg's train loader (end to end), back to back so both see the same machine load.

    Both run the same step code (forward, loss, backward, optimizer and scheduler step), so the ratio
    isolates what the data pipeline costs. First the loader alone runs one epoch (loader_cold_ips: every
    sample read and decoded, as in a run's first epoch), then `steps` batches (loader_ips: later epochs,
    samples from the data.cache_mib cache); the timed rounds are later epochs too.
    """
    from seg_cli.engine.loop import train_one_epoch

    t, steps, device, loader = config["train"], args.steps, training.device, training.train_loader
    renice_workers(loader, args.worker_nice)
    stream = Stream(loader)
    rounds = max(1, args.rounds)
    ceiling = random_batches(config, device, steps)

    def timed_epoch(batches) -> float:
        sync(device)
        tick = time.perf_counter()
        train_one_epoch(training.model, training.criterion, training.optimizer, batches, training.scheduler, device,
                        0, scaler=training.scaler, amp_dtype=training.options.amp_dtype)
        sync(device)
        return steps * t["batch_size"] / (time.perf_counter() - tick)

    timed_epoch(ceiling[: args.warmup] or ceiling[:1])  # untimed: first steps allocate and pick kernels
    tick = time.perf_counter()
    stream.skip(len(loader))  # a first epoch through the loader alone: decodes every sample (fills data.cache_mib)
    loader_cold_ips = len(loader) * t["batch_size"] / (time.perf_counter() - tick)
    sync(device)
    tick = time.perf_counter()
    stream.skip(steps)  # the pipeline alone, as later epochs feed the loop: what the loop could at best be fed
    loader_ips = steps * t["batch_size"] / (time.perf_counter() - tick)
    results = []
    for index in range(rounds):
        # The bare step runs before seg's blocks in even rounds and after them in odd ones: a block's place in
        # the round (allocator and cache state) then weighs on neither side of the ratio.
        bare = bare_step_ips(training, ceiling, device) if index % 2 == 0 else None
        result = {"compute_train_ips": timed_epoch(ceiling), "train_ips": timed_epoch(stream.block(steps)),
                  "loader_ips": loader_ips, "loader_cold_ips": loader_cold_ips}
        results.append({"bare_train_ips": bare or bare_step_ips(training, ceiling, device), **result})
    return results


def bench_eval(training, config: dict[str, Any], args) -> dict[str, float]:
    """seg's evaluate over the val loader vs. forward-only on the same batches held in memory.

    Passes, in order: the first (new input shapes and loading: what `seg eval` and a run's first
    evaluation see), the forward-only ceiling (shapes warm), a second pass through the loader (eval_ips,
    with the confusion update timed), and a pass replayed from the eval cache (a run's later evaluations).
    """
    from seg_cli.data.replay import ReplayLoader
    from seg_cli.engine.loop import evaluate
    from seg_cli.metrics.confusion import ConfusionMatrix
    from seg_cli.models.contract import unwrap_model

    d, e = config["dataset"], config["eval"]
    model, device, dtype = unwrap_model(training.model), training.device, training.options.amp_dtype
    loader = training.val_loader.loader  # seg train's own val loader, without its replay cache
    renice_workers(loader, args.worker_nice)
    n = min(max(1, args.eval_images // e["batch_size"]), len(loader))
    replay = ReplayLoader(Batches(loader, n, 0, device, args.channels_last), e["cache_mib"])

    def timed_evaluate(batches) -> float:
        sync(device)
        tick = time.perf_counter()
        evaluate(model, batches, device, d["num_classes"], d["ignore_index"], amp_dtype=dtype)
        sync(device)
        return time.perf_counter() - tick

    first_s = timed_evaluate(replay)
    if replay.batches is None:
        raise SystemExit("bench: the timed val batches exceed eval.cache_mib; raise it or lower --eval-images")
    cached = [batch[0].to(device) for batch in replay.batches]
    images_seen = sum(len(images) for images in cached)
    model.eval()

    def forward_only() -> float:
        with torch.inference_mode(), torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            sync(device)
            tick = time.perf_counter()
            for images in cached:
                model(images)
            sync(device)
        return time.perf_counter() - tick

    forward_only()  # shapes are warm after the first pass; one more untimed pass to be sure
    update_time, update = [0.0], ConfusionMatrix.update

    def timed_update(self, *a, **kw) -> None:
        sync(device)
        tick = time.perf_counter()
        update(self, *a, **kw)
        sync(device)
        update_time[0] += time.perf_counter() - tick

    results = []
    for _ in range(max(1, args.rounds)):
        compute_s = forward_only()
        update_time[0] = 0.0
        with mock.patch.object(ConfusionMatrix, "update", timed_update):
            streamed_s = timed_evaluate(Batches(loader, n, 0, device, args.channels_last))
        results.append({"compute_eval_ips": images_seen / compute_s, "eval_ips": images_seen / streamed_s,
                        "eval_first_ips": images_seen / first_s, "eval_replay_ips": images_seen / timed_evaluate(replay),
                        "confmat_frac": update_time[0] / streamed_s})
    return results


def format_table(results: dict[str, Any]) -> str:
    """A two-column plain-text table of the results."""
    width = max(map(len, results))
    lines = [f"{'metric':<{width}}  value", f"{'-' * width}  -----"]
    for key, value in results.items():
        lines.append(f"{key:<{width}}  {value:.4g}" if isinstance(value, float) else f"{key:<{width}}  {value}")
    return "\n".join(lines)


def measure_throughput(training, config: dict[str, Any], args) -> dict[str, float]:
    """Ceilings and end-to-end rates over --rounds: the best rate of each, and each ratio as the median
    of the per-round ratios (a ceiling block and its end-to-end block run back to back)."""
    train_rounds = bench_train(training, config, args)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux: training's peak
    eval_rounds = [{}] * len(train_rounds) if args.train_only else bench_eval(training, config, args)
    rounds = [{**tr, **ev} for tr, ev in zip(train_rounds, eval_rounds, strict=True)]
    best = {k: max(r[k] for r in rounds) for k in rounds[0] if k.endswith("_ips")}
    best["train_frac"] = statistics.median(r["train_ips"] / r["compute_train_ips"] for r in rounds)
    best["bare_frac"] = statistics.median(r["train_ips"] / r["bare_train_ips"] for r in rounds)
    if not args.train_only:
        for kind in ("", "_first", "_replay"):
            best[f"eval{kind}_frac"] = statistics.median(r[f"eval{kind}_ips"] / r["compute_eval_ips"] for r in rounds)
        best["confmat_frac"] = statistics.median(r["confmat_frac"] for r in rounds)
    best["peak_rss_mib"] = peak_rss
    if training.device.type == "cuda":
        best["peak_cuda_mib"] = torch.cuda.max_memory_allocated(training.device) / 2**20
    return best


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from seg_cli.data.build import resolve_workers
    from seg_cli.engine.training import build_training
    from seg_cli.models.contract import unwrap_model

    config = compose_config(args)
    # Timed blocks alternate for (2 rounds + 2) x (steps + warm-up) steps: an epoch budget the schedule
    # cannot run out of (a poly schedule past its end would give a NaN lr).
    config["train"]["epochs"] = 10**6
    training = build_training(config)  # model, loaders, loss and optimizer exactly as `seg train` builds them
    device = training.device
    config["train"]["workers"] = resolve_workers(config["train"]["workers"], device)  # "auto" as seg resolves it
    args.channels_last = False  # seg converts the model only: inputs stay as the loader makes them
    d, t = config["dataset"], config["train"]
    results: dict[str, Any] = {
        "model": args.model, "dataset": args.dataset, "device": str(device), "threads": torch.get_num_threads(),
        "batch": t["batch_size"], "crop": d["crop_size"], "workers": t["workers"],
        "eval_batch": config["eval"]["batch_size"], "channels_last": config["train"]["channels_last"],
        "worker_nice": args.worker_nice, "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
    }
    results.update(measure_throughput(training, config, args))
    if args.train_only:
        print(format_table(results))
        print(json.dumps(results))
        return results
    with tempfile.TemporaryDirectory(prefix="seg-bench-") as tmp:
        results["predict_ms"] = predict_ms(unwrap_model(training.model), config, device, args.predict_images, args.repeats, Path(tmp))
        if args.startup != "none":
            results.update(startup_times(args.model, args.device, args.repeats, args.startup == "all"
                                         and args.dataset == "synthetic", Path(tmp)))
    print(format_table(results))
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
