"""`seg predict` output names: never over an input file, one set of outputs per input, its own outputs left out of
the next run's inputs, and inputs that are missing (a line of an @list) reported and skipped (issue 21: 1, 3, 10)."""

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from seg_cli.choices import PREDICT_SAVE
from seg_cli.data.io import list_images
from seg_cli.predict.naming import OUTPUT_SUFFIXES, output_path, plan_stems
from tests.helpers import run_seg, train_tiny_checkpoint


def touch(root: Path, *names: str) -> list[Path]:
    paths = [root / name for name in names]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    return paths


def all_outputs(plan: dict[Path, Path]) -> list[str]:
    return [str(output_path(stem, kind)).casefold() for stem in plan.values() for kind in OUTPUT_SUFFIXES]


def assert_safe(plan: dict[Path, Path], images: list[Path]) -> None:
    """Every image has a stem, no two images share an output file, and no output file is an input."""
    outputs = all_outputs(plan)
    assert set(plan) == set(images) and len(set(outputs)) == len(outputs)
    assert not set(outputs) & {str(image.resolve()).casefold() for image in images}


def test_every_output_kind_has_a_name():
    assert set(OUTPUT_SUFFIXES) == set(PREDICT_SAVE)


def test_outputs_into_the_input_folder_never_land_on_an_input(tmp_path):
    images = touch(tmp_path, "chelsea.png", "coffee.png", "x.jpg", "x_overlay.jpg")
    plan = plan_stems(images, [tmp_path], tmp_path)
    assert_safe(plan, images)
    assert plan[tmp_path / "chelsea.png"] == tmp_path / "chelsea_png"  # its mask would have been chelsea.png
    assert plan[tmp_path / "x.jpg"] == tmp_path / "x_jpg"  # its overlay would have been the input x_overlay.jpg
    assert plan[tmp_path / "x_overlay.jpg"] == tmp_path / "x_overlay"  # x_overlay.png is no input


def test_inputs_sharing_a_stem_keep_their_extension(tmp_path):
    folder = touch(tmp_path / "photos", "chelsea.bmp", "chelsea.png", "chelsea.tiff", "chelsea.webp", "astronaut.png")
    apart = touch(tmp_path, "a/cat.png", "b/cat.png", "c/CAT.jpg")
    images = folder + apart
    plan = plan_stems(images, [tmp_path / "photos"], tmp_path / "out")
    assert_safe(plan, images)
    out = (tmp_path / "out").resolve()
    assert [plan[image].name for image in folder] == ["chelsea_bmp", "chelsea_png", "chelsea_tiff", "chelsea_webp",
                                                      "astronaut"]
    # same name and extension from two folders: numbered in input order; CAT and cat are one file on macOS
    assert [plan[image] for image in apart] == [out / "cat_png", out / "cat_png_2", out / "CAT_jpg"]


def test_a_generated_name_that_is_taken_gets_a_number(tmp_path):
    images = touch(tmp_path, "chelsea.bmp", "chelsea.png", "chelsea_bmp.png")
    plan = plan_stems(images, [tmp_path], tmp_path)
    assert_safe(plan, images)
    assert [plan[image].name for image in images] == ["chelsea_bmp_2", "chelsea_png", "chelsea_bmp_png"]


def test_names_without_a_clash_are_unchanged(tmp_path):
    images = touch(tmp_path / "photos", "a.jpg", "sub/b.png") + touch(tmp_path, "c.png")
    plan = plan_stems(images, [tmp_path / "photos"], tmp_path / "out")
    out = (tmp_path / "out").resolve()
    assert list(plan.values()) == [out / "a", out / "sub" / "b", out / "c"]


def test_the_input_walk_leaves_out_the_output_folder_inside_it(tmp_path):
    touch(tmp_path, "a.jpg", "out/a_overlay.jpg", "out/a.png", "sub/b.png")
    assert list_images([str(tmp_path)], skip=tmp_path / "out") == [tmp_path / "a.jpg", tmp_path / "sub" / "b.png"]
    # out= is the input folder itself: everything in it is input (names keep outputs apart)
    assert len(list_images([str(tmp_path)], skip=tmp_path)) == 4
    # a file named on the command line is read even where it lies in the output folder
    assert list_images([str(tmp_path / "out" / "a.png")], skip=tmp_path / "out") == [tmp_path / "out" / "a.png"]


def test_the_input_walk_reports_missing_paths_and_lists_each_file_once(tmp_path):
    touch(tmp_path, "d/a.jpg", "d/sub/b.png")
    missing = []
    found = list_images([str(tmp_path / "d"), str(tmp_path / "nope.jpg"), str(tmp_path / "d" / "sub"),
                         str(tmp_path / "d" / "a.jpg")], on_missing=missing.append)
    assert found == [tmp_path / "d" / "a.jpg", tmp_path / "d" / "sub" / "b.png"]
    assert missing == [tmp_path / "nope.jpg"]


# ---- through the CLI ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return train_tiny_checkpoint(tmp_path_factory.mktemp("ckpt"))


def photo(path: Path, seed: int, size: tuple[int, int] = (30, 24)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()}


def test_predict_into_the_input_folder_keeps_the_photos(seg, tmp_path, checkpoint):
    photos = tmp_path / "photos"
    photo(photos / "chelsea.png", 0)
    photo(photos / "coffee.png", 1)
    before = digests(photos)
    result = seg.run("predict", str(photos), f"out={photos}", f"ckpt={checkpoint}")
    assert result.returncode == 0, result.stderr
    assert f"wrote mask, overlay for 2 image(s) to {photos}" in result.stdout
    after = digests(photos)
    assert {name: after[name] for name in before} == before  # the photos are untouched
    assert sorted(set(after) - set(before)) == ["chelsea_png.png", "chelsea_png_overlay.jpg", "coffee_png.png",
                                                "coffee_png_overlay.jpg"]
    assert Image.open(photos / "chelsea_png.png").mode == "P"
    # A second run into the same folder knows the first one's outputs by their mark and predicts the photos only.
    again = seg.run("predict", str(photos), f"out={photos}", f"ckpt={checkpoint}")
    assert again.returncode == 0, again.stderr
    assert "for 2 image(s)" in again.stdout and "left out 4 file(s) an earlier seg predict wrote" in again.stdout
    assert sorted(digests(photos)) == sorted(after)


def test_outputs_carry_the_mark_and_photos_do_not(tmp_path):
    from seg_cli.predict.marks import is_prediction_output, write_marked

    picture = Image.new("RGB", (8, 6), (10, 200, 30))
    for name in ("out.png", "out.jpg"):
        write_marked(picture, tmp_path / name)
        assert is_prediction_output(tmp_path / name)
    picture.save(tmp_path / "photo.png")
    picture.save(tmp_path / "photo.jpg", comment=b"taken with a camera")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    assert not any(is_prediction_output(tmp_path / n) for n in ("photo.png", "photo.jpg", "broken.png"))


def test_every_input_gets_its_own_outputs_and_is_counted_once(tmp_path, checkpoint):
    photos = tmp_path / "photos"
    for seed, suffix in enumerate(("bmp", "png", "tiff", "webp")):
        photo(photos / f"chelsea.{suffix}", seed)
    a, b = photo(tmp_path / "a" / "cat.png", 5, (20, 20)), photo(tmp_path / "b" / "cat.png", 6, (26, 18))
    out = tmp_path / "out"
    result = run_seg("predict", str(photos), str(a), str(b), str(photos / "chelsea.png"), "save=mask", f"out={out}",
                     f"ckpt={checkpoint}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "for 6 image(s)" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["cat_png.png", "cat_png_2.png", "chelsea_bmp.png",
                                                     "chelsea_png.png", "chelsea_tiff.png", "chelsea_webp.png"]
    assert Image.open(out / "cat_png.png").size == (20, 20) and Image.open(out / "cat_png_2.png").size == (26, 18)


@pytest.mark.slow
def test_a_second_run_does_not_predict_the_first_runs_outputs(tmp_path, checkpoint):
    photos = tmp_path / "photos"
    photo(photos / "chelsea.jpg", 0)
    out = photos / "masks"
    for _ in range(2):
        result = run_seg("predict", str(photos), f"out={out}", f"ckpt={checkpoint}", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "for 1 image(s)" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["chelsea.png", "chelsea_overlay.jpg"]


def test_missing_paths_of_a_list_are_reported_and_the_rest_predicted(tmp_path, checkpoint):
    photo(tmp_path / "a.jpg", 0)
    photo(tmp_path / "b.png", 1)
    (tmp_path / "list.txt").write_text("a.jpg\ngone.jpg\nb.png\n")
    out = tmp_path / "out"
    result = run_seg("predict", f"@{tmp_path / 'list.txt'}", str(tmp_path / "typo.png"), "save=mask", f"out={out}",
                     f"ckpt={checkpoint}", cwd=tmp_path)
    assert result.returncode == 1
    log = result.stdout + result.stderr
    for name in ("gone.jpg", "typo.png"):
        assert len([line for line in log.splitlines() if f"input not found: {tmp_path / name}" in line]) == 1
    assert "for 2 image(s)" in result.stdout and "2 of 4 input(s) could not be read" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"] and "Traceback" not in result.stderr


def test_only_missing_inputs_is_one_line(tmp_path, checkpoint):
    result = run_seg("predict", str(tmp_path / "gone.jpg"), f"ckpt={checkpoint}", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == f"seg: error: input not found: {tmp_path / 'gone.jpg'}"


def test_files_that_are_not_inputs_are_never_written_over(tmp_path):
    from seg_cli.predict.marks import write_marked

    photos = tmp_path / "photos"
    named = touch(photos, "a.jpg", "b.jpg")
    touch(photos, "a.png", "preds/b.png")  # the user's own photos: no input, no mark
    (photos / "link.png").symlink_to(tmp_path / "elsewhere.png")  # a link, whatever it points to
    linked = touch(photos, "link.jpg")
    write_marked(Image.new("L", (4, 4)), photos / "preds" / "b_overlay.jpg")  # an earlier run's output: replaceable
    plan = plan_stems(named + linked, [], photos)
    assert [plan[image].name for image in named + linked] == ["a_jpg", "b", "link_jpg"]
    plan = plan_stems(named, [], photos / "preds")
    assert [plan[image].name for image in named] == ["a", "b_jpg"]
