"""Fuzz the image loader used by `seg predict` and `seg data check`: 200+ random and mutated files."""

import io
import time

import numpy as np
import pytest
from PIL import Image

from seg_cli.data.bands import rgb_view
from seg_cli.data.io import load_image
from seg_cli.errors import DataError


def seed_files() -> list[bytes]:
    images = []
    for fmt in ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP"):
        buffer = io.BytesIO()
        Image.new("RGB", (23, 17), (30, 160, 90)).save(buffer, format=fmt)
        images.append(buffer.getvalue())
    return images


def mutations(rng: np.random.Generator) -> list[bytes]:
    cases = [rng.bytes(int(n)) for n in rng.integers(0, 2000, size=60)]  # pure noise
    for original in seed_files():
        for _ in range(25):
            data = bytearray(original)
            kind = rng.integers(0, 3)
            if kind == 0:  # flip bytes
                for pos in rng.integers(0, len(data), size=int(rng.integers(1, 20))):
                    data[pos] = int(rng.integers(0, 256))
            elif kind == 1:  # truncate
                data = data[: int(rng.integers(0, len(data)))]
            else:  # header claims a huge size, body garbage
                data[16:24] = b"\xff" * 8
            cases.append(bytes(data))
    return cases


@pytest.mark.timeout(300)
def test_random_and_mutated_bytes_give_clean_errors_only(tmp_path):
    cases = mutations(np.random.default_rng(0))
    assert len(cases) >= 200
    outcomes = {"ok": 0, "error": 0}
    for i, data in enumerate(cases):
        path = tmp_path / f"case{i}.img"
        path.write_bytes(data)
        start = time.perf_counter()
        try:
            image = Image.fromarray(rgb_view(load_image(path, max_pixels=10_000_000)))  # what predict draws on
            assert image.mode == "RGB"
            tensor = load_image(path, max_pixels=10_000_000)  # datasets' loader, torchvision.io fast path
            assert tensor.shape == (3, image.height, image.width)
            outcomes["ok"] += 1
        except DataError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc)
            with pytest.raises(DataError):
                load_image(path, max_pixels=10_000_000)
            outcomes["error"] += 1
        assert time.perf_counter() - start < 10, f"case {i} took too long"
    assert outcomes["error"] > 100
