"""Probe images decode to the pixels the file means, for every mode Pillow reads."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from harness.probes.decode import decode

SIZE = 8


def _gradient(high: float, dtype) -> np.ndarray:
    return np.linspace(0, high, SIZE * SIZE).reshape(SIZE, SIZE).astype(dtype)


def _decoded_gray(path) -> np.ndarray:
    pixels = decode(path, SIZE)
    assert pixels is not None and pixels.shape == (3, SIZE, SIZE)
    assert np.array_equal(pixels[0], pixels[1]) and np.array_equal(pixels[0], pixels[2])
    return pixels[0].astype(np.float64)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16_bit_grayscale_keeps_its_gradient(tmp_path, suffix):
    source = _gradient(65535, np.uint16)
    path = tmp_path / f"g16{suffix}"
    Image.fromarray(source).save(path)  # mode I;16
    assert Image.open(path).mode.startswith("I")
    gray = _decoded_gray(path)
    np.testing.assert_allclose(gray, source / 257.0, atol=0.51)
    assert (gray == 255).mean() < 0.05  # not clipped white


def test_32_bit_integer_image_with_16_bit_values(tmp_path):
    source = _gradient(40000, np.int32)
    path = tmp_path / "i32.tif"
    Image.fromarray(source, "I").save(path)
    np.testing.assert_allclose(_decoded_gray(path), source * 255.0 / 65535.0, atol=0.51)


@pytest.mark.parametrize("low,high", [(0.0, 1.0), (-3.0, 5.0), (0.0, 200.0)])
def test_float_images_by_their_range(tmp_path, low, high):
    source = np.linspace(low, high, SIZE * SIZE).reshape(SIZE, SIZE).astype(np.float32)
    path = tmp_path / "f.tif"
    Image.fromarray(source, "F").save(path)
    if high <= 1:
        expected = source * 255.0
    elif low >= 0 and high <= 255:
        expected = source.astype(np.float64)
    else:
        expected = (source - low) * 255.0 / (high - low)
    np.testing.assert_allclose(_decoded_gray(path), expected, atol=0.51)


def test_palette_alpha_and_gray_alpha_keep_their_colours(tmp_path):
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (SIZE, SIZE, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    assert np.array_equal(decode(tmp_path / "rgba.png", SIZE), rgba[..., :3].transpose(2, 0, 1))
    la = rng.integers(0, 256, (SIZE, SIZE, 2), dtype=np.uint8)
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    assert np.array_equal(decode(tmp_path / "la.png", SIZE)[1], la[..., 0])
    palette = Image.fromarray(rgba[..., :3], "RGB").quantize(16)
    palette.save(tmp_path / "p.png")
    assert np.array_equal(decode(tmp_path / "p.png", SIZE), np.asarray(palette.convert("RGB")).transpose(2, 0, 1))


def test_cmyk_and_lab(tmp_path):
    cmyk = np.zeros((SIZE, SIZE, 4), np.uint8)
    cmyk[:, SIZE // 2:, 1:3] = 255  # right half: magenta + yellow = red
    Image.fromarray(cmyk, "CMYK").save(tmp_path / "c.tif")
    pixels = decode(tmp_path / "c.tif", SIZE)
    assert pixels[:, 0, 0].tolist() == [255, 255, 255] and pixels[:, 0, -1].tolist() == [255, 0, 0]
    lab = np.zeros((SIZE, SIZE, 3), np.uint8)
    lab[..., 0] = 128  # L* = 50; a* = b* = 0 (Pillow stores a*, b* as signed bytes)
    Image.fromarray(lab, "LAB").save(tmp_path / "lab.tif")
    pixels = decode(tmp_path / "lab.tif", SIZE).astype(int)
    assert abs(pixels[0, 0, 0] - 119) <= 4 and np.ptp(pixels[:, 0, 0]) <= 3  # sRGB mid grey, not a coloured cast


@pytest.mark.parametrize("orientation,turn", [(1, lambda a: a), (3, lambda a: np.rot90(a, 2)), (6, lambda a: np.rot90(a, -1)),
                                              (8, lambda a: np.rot90(a, 1)), (2, lambda a: a[:, ::-1])])
def test_exif_orientation_is_applied(tmp_path, orientation, turn):
    source = np.zeros((SIZE, SIZE, 3), np.uint8)
    source[: SIZE // 2, : SIZE // 2] = 255  # a white top-left quadrant
    source[0, :, 0] = 200  # an asymmetric red top row
    image = Image.fromarray(source)
    exif = image.getexif()
    exif[0x0112] = orientation
    image.save(tmp_path / "o.png", exif=exif)
    assert np.array_equal(decode(tmp_path / "o.png", SIZE), np.ascontiguousarray(turn(source)).transpose(2, 0, 1))


def test_8_bit_rgb_is_unchanged(tmp_path):
    source = np.random.default_rng(1).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    Image.fromarray(source).save(tmp_path / "rgb.png")
    assert np.array_equal(decode(tmp_path / "rgb.png", SIZE), source.transpose(2, 0, 1))
