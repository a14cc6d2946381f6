import numpy as np
import pytest
import torch
from PIL import Image

from seg_cli.data.io import check_labels, image_size, list_images, load_image, load_mask
from seg_cli.errors import DataError


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P", "CMYK", "I;16"])
def test_any_image_mode_loads_as_rgb(tmp_path, mode):
    path = tmp_path / ("x.tif" if mode in ("CMYK", "I;16") else "x.png")
    Image.new(mode, (7, 5)).save(path)
    image = load_image(path)
    # 16-bit keeps its precision as float32 on the [0, 1] scale (tests/data/test_bands.py)
    assert image.shape == (3, 5, 7) and image.dtype == (torch.float32 if mode == "I;16" else torch.uint8)


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (8, 4), (255, 0, 0))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    img.save(tmp_path / "r.jpg", exif=exif)
    assert load_image(tmp_path / "r.jpg").shape == (3, 8, 4)


@pytest.mark.parametrize("fmt,mode", [("JPEG", "RGB"), ("PNG", "RGB"), ("PNG", "L"), ("PNG", "RGBA")])
def test_torchvision_fast_path_gives_pillows_pixels(tmp_path, fmt, mode):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(37, 53, len(mode)), dtype=np.uint8).squeeze()
    path = tmp_path / f"x.{fmt.lower()}"
    Image.fromarray(pixels, mode).save(path, format=fmt)
    expected = np.asarray(Image.open(path).convert("RGB")).transpose(2, 0, 1)
    assert load_image(path).tolist() == expected.tolist()


def test_truncated_jpeg_is_an_error_not_a_partial_image(tmp_path):
    path = tmp_path / "cut.jpg"
    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(path, quality=90)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(DataError, match="cannot read image .*cut.jpg"):
        load_image(path)


def test_palette_mask_keeps_indices(tmp_path):
    from seg_cli.data.palette import palette_image

    mask = np.array([[0, 1], [15, 255]], np.uint8)
    palette_image(mask).save(tmp_path / "m.png")
    assert load_mask(tmp_path / "m.png").tolist() == mask.tolist()


def test_rgb_mask_and_broken_files_raise_clear_errors(tmp_path):
    Image.new("RGB", (3, 3)).save(tmp_path / "rgb.png")
    with pytest.raises(DataError, match="rgb.png has mode RGB"):
        load_mask(tmp_path / "rgb.png")
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    with pytest.raises(DataError, match="cannot read image .*bad.jpg"):
        load_image(tmp_path / "bad.jpg")
    with pytest.raises(DataError, match="not found"):
        load_image(tmp_path / "missing.jpg")


def test_labels_outside_class_range_name_file_and_values():
    mask = torch.tensor([[0, 3], [7, 255]], dtype=torch.uint8)
    check_labels(mask, 8, 255, "ok.png")
    with pytest.raises(DataError, match=r"bad.png has label values \[3, 7\] outside \[0, 3\)"):
        check_labels(mask, 3, 255, "bad.png")


def test_list_images_expands_folders(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    for p in ("d/a.jpg", "d/sub/b.png", "d/notes.txt", "c.jpg"):
        (tmp_path / p).write_bytes(b"")
    found = list_images([str(tmp_path / "c.jpg"), str(tmp_path / "d")])
    assert [p.name for p in found] == ["c.jpg", "a.jpg", "b.png"]
    with pytest.raises(DataError, match="input not found"):
        list_images([str(tmp_path / "nope")])


@pytest.mark.parametrize("fmt,metadata", [("jpg", "exif"), ("png", "exif"), ("jpg", "xmp"), ("png", None)])
def test_image_size_from_the_header_is_the_loaded_size(tmp_path, fmt, metadata):
    img = Image.new("RGB", (30, 20), (9, 99, 199))
    path = tmp_path / f"x.{fmt}"
    if metadata == "exif":
        exif = img.getexif()
        exif[0x0112] = 6  # shown rotated by 90 degrees
        img.save(path, exif=exif)
    elif metadata == "xmp":  # XMP orientation: the torchvision decoder does not apply it, so neither may the header
        img.save(path, xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
                           b'22-rdf-syntax-ns#"><rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
                           b'tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>')
    else:
        img.save(path)
    assert image_size(path) == tuple(load_image(path).shape[-2:]) == ((30, 20) if metadata == "exif" else (20, 30))
    assert image_size(tmp_path / "missing.jpg") is None
