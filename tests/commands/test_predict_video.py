"""`seg predict clip.mp4` through the CLI (issue 24, 4): a clip made here (PyAV, 30000/1001 fps, 65x47, AAC) gives
videos with the same rate, frame count, size (padded to even) and audio for a multi-class, a binary and a matting
checkpoint, whose frame i is what `seg predict` writes for frame i saved as a PNG; alpha videos (VP9, ProRes
4444) carry alpha; a bad video among good inputs is one line and exit 1."""

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from seg_cli.predict.video_io import read_frames
from tests.data.matting_fixtures import write_matting_folder
from tests.helpers import FAST_TRAIN, run_dirs, run_seg
from tests.video_clips import NTSC, audio_packets, decode_rgb, write_clip

pytestmark = pytest.mark.slow

TINY_MATTING = ["dataset=folder", "dataset.task=matting", "loss=matting", "train.epochs=1", "train.batch_size=2",
                "train.workers=0", "train.progress=false", "dataset.base_size=32", "dataset.crop_size=32"]
# Per task: the `seg train` overrides of a tiny checkpoint (DATA: the root a fixture writer fills), the
# `seg predict` options tried, and the output videos its clip gets by default; a task is one entry.
TASKS = {
    "multiclass": (FAST_TRAIN, ["predict.frames=true"], ["overlay", "color"], None),
    "binary": ([*FAST_TRAIN, "dataset=synthetic_binary"], ["predict.frames=true", "predict.alpha_video=webm"],
               ["alpha", "composite"], None),
    "matting": ([*TINY_MATTING, "dataset.root=DATA"], ["predict.frames=true", "predict.alpha_video=prores"],
                ["alpha", "composite"], write_matting_folder),
}
# Frame i of an output video against the image output of frame i saved as a PNG, in 8-bit levels: H.264 at
# crf 18 (and, for the overlay, the image's JPEG at quality 90) differ by a few. Measured on this clip: overlay
# mean 1.9-2.1, 99th percentile 11, max 31 (at the square's red edges, where 4:2:0 halves the colour); binary alpha
# (grey, against a PNG) mean 0.35-0.45, 99th percentile 2, max 2.
MEAN_TOLERANCE, P99_TOLERANCE = 3.0, 16


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return write_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", frames=12, size=(65, 47))


@pytest.fixture(scope="module", params=list(TASKS))
def trained(request, tmp_path_factory) -> tuple[str, Path]:
    root = tmp_path_factory.mktemp(request.param)
    overrides, _, _, write_data = TASKS[request.param]
    if write_data is not None:
        write_data(root / "data")
    result = run_seg("train", *[o.replace("DATA", str(root / "data")) for o in overrides], cwd=root)
    assert result.returncode == 0, result.stderr[-2000:]
    return request.param, run_dirs(root)[-1] / "checkpoints" / "best.pt"


def test_each_output_video_keeps_rate_count_size_and_audio_and_matches_the_frames(seg, tmp_path, clip, trained):
    task, ckpt = trained
    _, options, kinds, _ = TASKS[task]
    result = seg.run("predict", str(clip), f"ckpt={ckpt}", f"out={tmp_path / 'out'}", *options)
    assert result.returncode == 0, result.stderr[-2000:]
    alpha_video = next((o.split("=")[1] for o in options if o.startswith("predict.alpha_video=")), None)
    extra = ["mask"] + ["cutout"] * bool(alpha_video)
    assert f"wrote {', '.join(kinds + extra)} for 12 frame(s) of 1 video(s)" in result.stdout
    if alpha_video == "webm":  # VP9 with alpha (the WebM takes no AAC: the audio is left out, as logged)
        with av.open(str(tmp_path / "out" / "clip_alpha.webm")) as container:
            assert container.streams.video[0].metadata.get("alpha_mode") == "1"
            assert len(list(container.decode(video=0))) == 12
    if alpha_video == "prores":  # ProRes 4444 with alpha, and the audio
        with av.open(str(tmp_path / "out" / "clip_alpha.mov")) as container:
            assert container.streams.video[0].codec_context.pix_fmt.startswith("yuva444p")
            assert container.streams.video[0].frames == 12
        assert audio_packets(tmp_path / "out" / "clip_alpha.mov") == audio_packets(clip)
    for kind in kinds:
        with av.open(str(tmp_path / "out" / f"clip_{kind}.mp4")) as container:
            video = container.streams.video[0]
            assert (video.average_rate, video.frames, video.width, video.height) == (NTSC, 12, 66, 48)
        assert audio_packets(tmp_path / "out" / f"clip_{kind}.mp4") == audio_packets(clip)
    # frame i through `seg predict` as an image: the same mask exactly, the same picture within codec error
    frames = list(read_frames(clip))
    picks = [0, 5, 11]
    for index in picks:
        Image.fromarray(frames[index]).save(tmp_path / f"frame{index}.png")
    single = seg.run("predict", *[str(tmp_path / f"frame{i}.png") for i in picks], f"ckpt={ckpt}",
                     f"out={tmp_path / 'single'}", f"save=[mask,{kinds[0]}]")
    assert single.returncode == 0, single.stderr[-2000:]
    video_frames = decode_rgb(tmp_path / "out" / f"clip_{kinds[0]}.mp4")
    suffix = ".jpg" if kinds[0] == "overlay" else ".png"
    for index in picks:
        mask = np.asarray(Image.open(tmp_path / "out" / "clip_frames" / f"{index:06d}.png"))
        assert np.array_equal(mask, np.asarray(Image.open(tmp_path / "single" / f"frame{index}.png")))
        image = np.asarray(Image.open(tmp_path / "single" / f"frame{index}_{kinds[0]}{suffix}").convert("RGB"))
        error = np.abs(video_frames[index][:47, :65].astype(int) - image.astype(int))
        assert error.mean() <= MEAN_TOLERANCE and np.percentile(error, 99) <= P99_TOLERANCE, (error.mean(),
                                                                                              error.max())


@pytest.mark.parametrize("trained", ["multiclass"], indirect=True)
def test_a_bad_video_among_good_inputs_is_one_line_and_exit_1(tmp_path, clip, trained):
    _, ckpt = trained
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(200))
    Image.new("RGB", (30, 20), (40, 160, 90)).save(tmp_path / "photo.png")
    result = run_seg("predict", str(clip), str(bad), str(tmp_path / "photo.png"), f"ckpt={ckpt}",
                     f"out={tmp_path / 'out'}", "predict.every_n_frames=2", "predict.max_frames=3", cwd=tmp_path)
    assert result.returncode == 1
    errors = [line for line in (result.stdout + result.stderr).splitlines() if "ERROR" in line]
    assert len(errors) == 1 and f"{bad}: not a video FFmpeg can read" in errors[0]
    assert "Traceback" not in result.stderr and "1 of 3 input(s) could not be read" in result.stderr
    with av.open(str(tmp_path / "out" / "clip_overlay.mp4")) as container:
        assert (container.streams.video[0].average_rate, container.streams.video[0].frames) == (NTSC / 2, 3)
    assert (tmp_path / "out" / "photo.png").is_file() and (tmp_path / "out" / "photo_overlay.jpg").is_file()
