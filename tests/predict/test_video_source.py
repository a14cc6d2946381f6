"""The video source of `seg predict`: one output video per input and kind (frame folders for masks, alpha videos
for cut-outs), frame selection, the other inputs still written after a bad one, names that never land on a
user's file, and no FFmpeg or torch loaded by `seg --help`."""

import logging
import subprocess
import sys

import av
import numpy as np
import pytest
from PIL import Image

from seg_cli.predict import sources
from seg_cli.predict.options import PredictOptions
from seg_cli.predict.run import predict_source
from seg_cli.predict.sources.images import ImageSource
from seg_cli.predict.sources.video import VideoSource, video_suffixes
from seg_cli.predict.writers import build_writers
from seg_cli.tasks import get_task
from tests.predict.test_run import tiny_predictor
from tests.video_clips import NTSC, audio_packets, write_clip


def run_video(inputs, out, save, options=None, task="multiclass"):
    options = options or PredictOptions()
    source = VideoSource([str(p) for p in inputs], out, 10**8, options)
    predictor = tiny_predictor(3 if task == "multiclass" else 1, task)
    counts = predict_source(source, predictor, build_writers(save, overlay_alpha=0.5, options=options))
    return source, counts


def stream_of(path):
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        return video.average_rate, video.frames, video.width, video.height


def test_each_kind_becomes_one_video_or_a_folder_of_frames(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="seg.predict")
    clip = write_clip(tmp_path / "clip.mp4", frames=7)
    options = PredictOptions(batch_size=3, frames=True, alpha_video="prores")
    source, counts = run_video([clip], tmp_path / "out", ["overlay", "color", "prob", "mask", "cutout"], options)
    assert counts == (7, 0) and source.summary(7) == "7 frame(s) of 1 video(s)"
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["clip_alpha.mov", "clip_color.mp4", "clip_frames",
                                                     "clip_overlay.mp4", "clip_prob.mp4"]
    for name in ("clip_overlay.mp4", "clip_color.mp4", "clip_prob.mp4", "clip_alpha.mov"):
        assert stream_of(out / name)[:2] == (NTSC, 7)
    assert audio_packets(out / "clip_overlay.mp4") == audio_packets(clip)
    masks = sorted((out / "clip_frames").iterdir())
    assert len(masks) == 7 and masks[0].name == "000000.png" and Image.open(masks[0]).size == (65, 47)
    assert "predicting 1 video(s)" in caplog.text
    assert caplog.text.count("clip.mp4: odd size 65x47 padded to 66x48 in its 4:2:0 videos") == 1


def test_every_n_frames_and_max_frames_pick_the_frames(tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", frames=12)
    run_video([clip], tmp_path / "out", ["overlay"], PredictOptions(every_n_frames=2, max_frames=4))
    assert stream_of(tmp_path / "out" / "clip_overlay.mp4")[:2] == (NTSC / 2, 4)
    assert 0 < len(audio_packets(tmp_path / "out" / "clip_overlay.mp4")) < len(audio_packets(clip))  # cut with it


def test_a_bad_video_is_one_error_and_the_others_are_written(tmp_path, caplog):
    good = write_clip(tmp_path / "good.mp4", frames=3, audio=False)
    bad = tmp_path / "bad.mov"
    bad.write_text("not a video")
    source, counts = run_video([bad, good], tmp_path / "out", ["overlay"])
    assert counts == (3, 1) and source.videos == 1
    assert [r.message for r in caplog.records if r.levelno == logging.ERROR] == [
        f"{bad}: not a video FFmpeg can read (Invalid data found when processing input)"]
    assert stream_of(tmp_path / "out" / "good_overlay.mp4")[1] == 3


def test_an_unwritable_output_ends_that_video_in_one_line(tmp_path, caplog):
    clip = write_clip(tmp_path / "clip.mp4", frames=3, audio=False)
    other = write_clip(tmp_path / "other.mp4", frames=2, audio=False)
    (tmp_path / "out").write_text("a file where the output folder should be")
    source, counts = run_video([clip, other], tmp_path / "out" / "sub", ["overlay"], PredictOptions(batch_size=1))
    errors = [r.message for r in caplog.records if r.levelno == logging.ERROR]
    assert counts[1] == 2 and errors[0].startswith(f"{clip}: cannot write its overlay output: ")
    assert errors[1].startswith(f"{other}: cannot write") and len(errors) == 2


def test_videos_take_their_own_default_outputs():
    options = PredictOptions(frames=True, alpha_video="webm")
    assert VideoSource.default_save(get_task("multiclass"), PredictOptions()) == ["overlay", "color"]
    assert VideoSource.default_save(get_task("binary"), options) == ["alpha", "composite", "mask", "cutout"]
    assert ImageSource.default_save(get_task("binary"), options) == list(get_task("binary").default_save)


def test_a_folder_gives_its_videos_to_the_video_source_and_its_images_to_images(tmp_path):
    folder = tmp_path / "media"
    (folder / "sub").mkdir(parents=True)
    write_clip(folder / "sub" / "walk.mkv", frames=2, audio=False)
    Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(folder / "photo.png")
    built = sources.build_sources([str(folder)], tmp_path / "out", 10**8)
    assert [type(s) for s in built] == [VideoSource, ImageSource]
    assert built[0].paths == [folder / "sub" / "walk.mkv"] and built[0].stems[built[0].paths[0]] == (
        tmp_path / "out" / "sub" / "walk").resolve()
    only_videos = sources.build_sources([str(folder / "sub")], tmp_path / "out", 10**8)
    assert [type(s) for s in only_videos] == [VideoSource]
    # out= the folder itself: its videos are inputs; a second run leaves out the first one's outputs
    run_video([folder / "sub" / "walk.mkv"], folder / "sub", ["overlay"])
    again = sources.build_sources([str(folder / "sub")], folder / "sub", 10**8)
    assert [type(s) for s in again] == [VideoSource] and again[0].paths == [folder / "sub" / "walk.mkv"]
    outputs_only = tmp_path / "outputs_only"
    outputs_only.mkdir()
    (folder / "sub" / "walk_overlay.mp4").rename(outputs_only / "walk_overlay.mp4")
    Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(outputs_only / "photo.png")
    assert [type(s) for s in sources.build_sources([str(outputs_only)], tmp_path / "out", 10**8)] == [ImageSource]


def test_outputs_never_land_on_a_users_file_but_replace_our_own(tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", frames=2, audio=False)
    (tmp_path / "out").mkdir()
    write_clip(tmp_path / "out" / "clip_overlay.mp4", frames=2, audio=False)  # the user's video of that name
    source = VideoSource([str(clip)], tmp_path / "out", 10**8, PredictOptions())
    assert source.stems[clip].name == "clip_mp4"
    run_video([clip], tmp_path / "out", ["overlay"])
    again = VideoSource([str(clip)], tmp_path / "out", 10**8, PredictOptions())
    assert again.stems[clip].name == "clip_mp4"  # its own earlier output is not in the way
    assert {"_overlay.mp4", "_color.mp4", "_prob.mp4", "_frames", "_rgba", "_alpha.webm", "_alpha.mov"} <= set(
        video_suffixes())


def test_help_and_the_predict_command_do_not_load_ffmpeg_or_torch():
    code = ("import sys, seg_cli.cli, seg_cli.commands.predict, seg_cli.predict.sources.video; "
            "print('av' in sys.modules, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("fmt, name", [("webm", "clip_alpha.webm"), ("png", "clip_rgba")])
def test_cutouts_become_the_alpha_video_asked_for(tmp_path, fmt, name):
    clip = write_clip(tmp_path / "clip.mp4", frames=2, size=(32, 24), audio=False)
    run_video([clip], tmp_path / "out", ["cutout"], PredictOptions(alpha_video=fmt), task="binary")
    output = tmp_path / "out" / name
    if fmt == "png":
        assert [Image.open(p).mode for p in sorted(output.iterdir())] == ["RGBA", "RGBA"]
    else:
        assert stream_of(output)[2:] == (32, 24)
