"""Video in and out with PyAV (issue 24, 4): exact rate, count, size, rotation and untouched audio; odd sizes padded
to even; alpha outputs that keep their alpha; a truncated file keeps its frames; a non-video, or a codec this
FFmpeg cannot decode, is one DataError."""

from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image

from seg_cli.errors import DataError
from seg_cli.predict.marks import is_prediction_output
from seg_cli.predict.video_io import VideoReader, probe, read_frames
from seg_cli.predict.video_writers import FrameFolder, VideoFileWriter
from tests.video_clips import NTSC, audio_packets, clip_frame, decode_rgb, write_clip


def copy_video(source, target, fmt="h264", every_n=1, alpha=None, cut=False, limit=None):
    """`source`'s frames written back by a VideoFileWriter (with an alpha channel of value `alpha`)."""
    with VideoReader(source) as reader:
        writer = None
        for frame in reader.frames(every_n, limit):
            if writer is None:
                writer = VideoFileWriter(target, source, reader.info, reader.rotation, reader.info.rate / every_n, fmt)
            picture = frame.rgb if alpha is None else np.dstack([frame.rgb, np.full(frame.rgb.shape[:2], alpha,
                                                                                    np.uint8)])
            writer.write(picture, frame.pts)
        writer.close(cut)
    return target


def test_the_reader_states_the_exact_rate_count_and_size(tmp_path):
    clip = write_clip(tmp_path / "clip.mp4")
    info = probe(clip)
    assert info.rate == Fraction(30000, 1001) and isinstance(info.rate, Fraction)
    assert (info.frames, info.width, info.height) == (12, 65, 47)
    frames = list(read_frames(clip))
    assert len(frames) == 12 and frames[0].shape == (47, 65, 3) and frames[0].dtype == np.uint8
    assert np.abs(frames[5].astype(int) - clip_frame(5, 65, 47)).mean() < 3  # x264 4:4:4 at its default quality


def test_every_n_frames_and_max_frames_keep_the_source_timestamps(tmp_path):
    with VideoReader(write_clip(tmp_path / "clip.mp4", audio=False)) as reader:
        frames = list(reader.frames(every_n=3, limit=3))
    assert [f.index for f in frames] == [0, 1, 2]
    assert [f.pts for f in frames] == [0, 3003, 6006]  # frames 0, 3, 6 in 1/30000 s


def test_the_writer_keeps_rate_count_and_copies_the_audio_untouched(tmp_path):
    clip = write_clip(tmp_path / "clip.mp4")
    out = copy_video(clip, tmp_path / "out.mp4")
    with av.open(str(out)) as container:
        video = container.streams.video[0]
        assert (video.average_rate, video.frames, video.codec_context.pix_fmt) == (NTSC, 12, "yuv420p")
        assert (video.width, video.height) == (66, 48)  # 4:2:0: one pixel of padding on each odd side
        assert [s.codec_context.name for s in container.streams.audio] == ["aac"]
        first = next(container.decode(video))
        assert (first.colorspace, first.color_range) == (6, 1)  # tagged BT.601 limited, the matrix used
    assert audio_packets(out) == audio_packets(clip) and len(audio_packets(clip)) >= 3
    decoded, source = decode_rgb(out)[4], list(read_frames(clip))[4]
    assert np.abs(decoded[:47, :65].astype(int) - source).mean() < 3  # crf 18
    assert np.array_equal(decoded[:47, 65], decoded[:47, 64])  # the padding repeats the last column


def test_every_nth_frame_divides_the_rate_exactly(tmp_path):
    out = copy_video(write_clip(tmp_path / "clip.mp4"), tmp_path / "out.mp4", every_n=2)
    with av.open(str(out)) as container:
        assert (container.streams.video[0].average_rate, container.streams.video[0].frames) == (NTSC / 2, 6)


def test_a_video_cut_short_cuts_its_audio_with_it(tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", frames=24)
    out = copy_video(clip, tmp_path / "out.mp4", cut=True, limit=6)
    assert 0 < len(audio_packets(out)) < len(audio_packets(clip))
    assert audio_packets(out) == audio_packets(clip)[: len(audio_packets(out))]


def test_rotation_is_read_frames_come_upright_and_the_output_keeps_it(tmp_path):
    clip = write_clip(tmp_path / "turned.mp4", size=(64, 48), rotation=90, audio=False)
    with VideoReader(clip) as reader:
        first = next(reader.frames())
        assert reader.rotation == 90 and first.rgb.shape == (64, 48, 3)  # shown turned: 48 wide, 64 high
    assert np.abs(first.rgb.astype(int) - np.rot90(clip_frame(0, 64, 48))).mean() < 3
    out = copy_video(clip, tmp_path / "out.mp4")
    with av.open(str(out)) as container:
        frame = next(container.decode(video=0))
        assert (frame.width, frame.height, frame.rotation) == (64, 48, 90)  # stored as the source, same turn


@pytest.mark.parametrize("fmt, pix_fmt", [("webm", "yuva420p"), ("prores", "yuva444p")])
def test_alpha_videos_carry_an_alpha_channel(tmp_path, fmt, pix_fmt):
    clip = write_clip(tmp_path / "clip.mp4", frames=4, size=(32, 24))
    out = copy_video(clip, tmp_path / f"out.{'webm' if fmt == 'webm' else 'mov'}", fmt, alpha=200)
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        if fmt == "webm":  # VP9 keeps alpha beside the picture; FFmpeg's own decoder drops it, libvpx's reads it
            assert stream.metadata.get("alpha_mode") == "1"
            decoder = av.CodecContext.create("libvpx-vp9", "r")
            frames = [f for packet in container.demux(stream) for f in decoder.decode(packet)]
        else:
            frames = list(container.decode(stream))
            assert stream.codec_context.name == "prores"
    assert len(frames) == 4 and frames[0].format.name.startswith(pix_fmt)
    assert abs(frames[0].to_ndarray(format="rgba")[..., 3].astype(int).mean() - 200) < 4
    assert is_prediction_output(out)


def test_png_frames_are_rgba_files_in_a_folder(tmp_path):
    folder = FrameFolder(tmp_path / "clip_rgba")
    for index in range(3):
        folder.write(Image.new("RGBA", (5, 4), (1, 2, 3, 100)), index)
    assert sorted(p.name for p in folder.folder.iterdir()) == ["000000.png", "000001.png", "000002.png"]
    assert Image.open(folder.folder / "000002.png").mode == "RGBA" and is_prediction_output(folder.folder)


def test_a_truncated_file_keeps_the_frames_decoded_before_the_error(tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", frames=30, size=(64, 48), audio=False, options={"movflags": "faststart"})
    data = clip.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 6 // 10])
    kept = []
    with pytest.raises(DataError, match=r"cut\.mp4: (stops|ends) after"), VideoReader(cut) as reader:
        kept.extend(reader.frames())
    assert 5 < len(kept) < 30


def test_a_file_that_is_not_a_video_is_one_data_error(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n")
    with pytest.raises(DataError, match=r"notes\.mp4: not a video FFmpeg can read"):
        probe(text)
    with pytest.raises(DataError, match="not a video"):
        next(read_frames(text))
    assert not is_prediction_output(write_clip(tmp_path / "users.mp4", frames=2, audio=False))


def test_a_codec_this_ffmpeg_cannot_decode_is_one_data_error(tmp_path):
    movie = tmp_path / "movie.avi"
    with av.open(str(movie), "w") as container:
        stream = container.add_stream("mjpeg", rate=25)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "yuvj420p"
        container.mux(stream.encode(av.VideoFrame.from_ndarray(np.zeros((24, 32, 3), np.uint8), format="rgb24")))
        container.mux(stream.encode())
    unknown = tmp_path / "unknown.avi"
    unknown.write_bytes(movie.read_bytes().replace(b"MJPG", b"ZQ9X"))  # a FourCC no decoder claims
    with pytest.raises(DataError, match=r"unknown\.avi: its video codec cannot be decoded by this FFmpeg"):
        probe(unknown)
