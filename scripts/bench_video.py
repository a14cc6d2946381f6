"""Video through `seg predict` (issue 24, 4): frames/s end to end against the model's forward-only rate.

    python scripts/bench_video.py --model unet_small --size 512 --batch 4 --frames 48 --device cpu

End to end is `seg predict`'s own code path on a clip generated here (H.264 yuv420p, size x size, 30000/1001 fps,
no audio): the video source decodes, the predictor runs `predict.batch_size` frames at a time (resize, normalise,
forward, decode), the writers draw each kind and the encoder writes one H.264 video per kind. The ceiling is the
bare forward pass (torch.inference_mode) of the same model on random batches of the same size and batch. The
`overhead` is everything around the model: decode, transform, the task's decode, drawing and encoding, as
(end-to-end time - the model's own time inside that run) / the model's time, so that a neighbour's load on a
shared machine hits both sides alike; `overhead_vs_ceiling` sets the end-to-end time against the separate
forward-only rounds instead, and `codec_share` the decode and encode alone (one video per kind) against them.
Rounds alternate the measurements: rates are the best round's, ratios the median over rounds. The model is the
composed config's, randomly initialised (speed does not depend on the weights). Prints a table, then one JSON
line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import compose_config  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="unet_small", help="option of configs/model/")
    p.add_argument("--dataset", default="synthetic", help="option of configs/dataset/ (classes, task)")
    p.add_argument("--size", type=int, default=512, help="the clip's width and height (= dataset.base_size)")
    p.add_argument("--batch", type=int, default=4, help="predict.batch_size")
    p.add_argument("--frames", type=int, default=48, help="frames in the clip")
    p.add_argument("--save", default="", help="output kinds (default: the task's video default)")
    p.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N")
    p.add_argument("--rounds", type=int, default=3, help="alternating forward-only / end-to-end rounds")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    p.add_argument("overrides", nargs="*", help="extra seg config overrides")
    return p.parse_args(argv)


def write_test_clip(path: Path, size: int, frames: int) -> Path:
    """A clip of moving gradients and a square (compressible like real footage), H.264 yuv420p."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(30000, 1001), options={"preset": "veryfast"})
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        ramp = np.linspace(0, 255, size)[None, :].repeat(size, 0)
        for index in range(frames):
            picture = np.stack([np.roll(ramp, 4 * index, 1), ramp.T, np.full_like(ramp, 96)], -1).astype(np.uint8)
            top = (7 * index) % (size // 2)
            picture[top : top + size // 4, top : top + size // 4] = (220, 30, 30)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(stream.encode())
    return path


def forward_seconds(model: torch.nn.Module, size: int, batch: int, frames: int, device: torch.device) -> float:
    """Seconds of the bare forward passes over `frames` frames, `batch` at a time."""
    x = torch.randn(batch, 3, size, size, device=device)
    with torch.inference_mode():
        model(x)  # warm-up
        _sync(device)
        start = time.perf_counter()
        for _ in range(-(-frames // batch)):
            model(x)
        _sync(device)
    return time.perf_counter() - start


class TimedModel(torch.nn.Module):
    """The model, its forward passes timed: the model's share of an end-to-end run, measured inside it."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model, self.seconds = model, 0.0

    def forward(self, x: torch.Tensor) -> Any:
        _sync(x.device)
        start = time.perf_counter()
        out = self.model(x)
        _sync(x.device)
        self.seconds += time.perf_counter() - start
        return out


def end_to_end_seconds(predictor: Any, clip: Path, out: Path, save: list[str], batch: int) -> float:
    """Seconds of `seg predict clip` through the library: source, predictor, writers, encoders."""
    from seg_cli.predict.options import PredictOptions
    from seg_cli.predict.run import predict_source
    from seg_cli.predict.sources.video import VideoSource
    from seg_cli.predict.writers import build_writers

    options = PredictOptions(batch_size=batch)
    source = VideoSource([str(clip)], out, 10**9, options)
    writers = build_writers(save, overlay_alpha=0.5, options=options)
    start = time.perf_counter()
    predict_source(source, predictor, writers)
    _sync(predictor.device)
    return time.perf_counter() - start


def codec_seconds(clip: Path, out: Path) -> tuple[float, float]:
    """(decode, encode) seconds of the clip's frames alone: read as RGB, and written as one H.264 video."""
    from seg_cli.predict.video_io import VideoReader
    from seg_cli.predict.video_writers import VideoFileWriter

    start = time.perf_counter()
    with VideoReader(clip) as reader:
        frames = list(reader.frames())
        info = reader.info
    decode = time.perf_counter() - start
    writer = VideoFileWriter(out / "encode.mp4", clip, info, 0, info.rate)
    start = time.perf_counter()
    for frame in frames:
        writer.write(frame.rgb, frame.pts)
    writer.close()
    return decode, time.perf_counter() - start


def _sync(device: Any) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from seg_cli.models.build import build_model
    from seg_cli.predict.predictor import Predictor
    from seg_cli.tasks import get_task

    config = compose_config(argparse.Namespace(model=args.model, dataset=args.dataset, device=args.device,
                                               crop=None, batch=None, workers=None, eval_batch=None,
                                               overrides=[*args.overrides, f"dataset.base_size={args.size}"]))
    device = torch.device(args.device)
    model = build_model(config["model"]).to(device).eval()
    timed = TimedModel(model)
    predictor = Predictor(timed, config["dataset"], f"random {args.model}", device)
    save = args.save.split(",") if args.save else list(get_task(config["dataset"]["task"]).default_video_save)
    forward, e2e, inside, decode, encode = [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="seg-bench-video-") as tmp:
        clip = write_test_clip(Path(tmp) / "clip.mp4", args.size, args.frames)
        end_to_end_seconds(predictor, clip, Path(tmp) / "warm", save, args.batch)  # warm-up: threads, allocator
        for round_ in range(args.rounds):
            forward.append(forward_seconds(model, args.size, args.batch, args.frames, device))
            timed.seconds = 0.0
            e2e.append(end_to_end_seconds(predictor, clip, Path(tmp) / f"out{round_}", save, args.batch))
            inside.append(timed.seconds)
            times = codec_seconds(clip, Path(tmp))
            decode.append(times[0])
            encode.append(times[1])
    results = {"model": args.model, "size": args.size, "batch": args.batch, "frames": args.frames,
               "device": str(device), "threads": torch.get_num_threads(), "save": save,
               "forward_fps": args.frames / min(forward), "e2e_fps": args.frames / min(e2e),
               "decode_fps": args.frames / min(decode), "encode_fps": args.frames / min(encode),
               # the time around the model within the same runs (a neighbour's load hits both alike)
               "overhead": statistics.median((e - m) / m for e, m in zip(e2e, inside)),
               "overhead_vs_ceiling": statistics.median((e - f) / f for e, f in zip(e2e, forward)),
               "codec_share": statistics.median((d + len(save) * c) / f
                                                for d, c, f in zip(decode, encode, forward))}
    for key, value in results.items():
        print(f"{key:>12}: {value:.3f}" if isinstance(value, float) else f"{key:>12}: {value}")
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
