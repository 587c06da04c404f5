"""Vimeo-90k septuplet loader on a small fixture written in the official layout."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ffbench.data.vimeo90k import Vimeo90kError, Vimeo90kSeptuplet, read_list, read_png_sequence

IDS = ["00001/0001", "00001/0002", "00003/0010"]


def write_vimeo(root, ids=IDS, h=8, w=12, seed=0):
    """Official layout: ROOT/sep_testlist.txt + ROOT/sequences/XXXXX/YYYY/im1..im7.png."""
    rng = np.random.default_rng(seed)
    videos = {}
    for i in ids:
        d = root / "sequences" / i
        d.mkdir(parents=True)
        v = rng.integers(0, 256, size=(7, h, w, 3), dtype=np.uint8)
        for k in range(7):
            Image.fromarray(v[k]).save(d / f"im{k + 1}.png")
        videos[i] = torch.from_numpy(v)
    (root / "sep_testlist.txt").write_text("\n".join(ids) + "\n\n")
    return videos


def test_loads_official_layout(tmp_path):
    videos = write_vimeo(tmp_path)
    ds = Vimeo90kSeptuplet(tmp_path)
    ds.check()
    assert ds.ids == IDS and len(ds) == 3
    seq_id, v = ds[2]
    assert seq_id == "00003/0010" and v.dtype == torch.uint8 and v.shape == (7, 8, 12, 3)
    assert all(torch.equal(v, videos[i]) for i, v in ds)


def test_missing_frame_is_named(tmp_path):
    write_vimeo(tmp_path)
    gone = tmp_path / "sequences" / "00001" / "0002" / "im5.png"
    gone.unlink()
    ds = Vimeo90kSeptuplet(tmp_path)
    with pytest.raises(Vimeo90kError, match="00001/0002/im5.png: frame not found"):
        ds.check()
    with pytest.raises(Vimeo90kError, match="im5.png"):
        ds.load("00001/0002")
    assert ds.load("00001/0001").shape[0] == 7  # the others still load


def test_malformed_list_line_is_named(tmp_path):
    write_vimeo(tmp_path)
    (tmp_path / "sep_testlist.txt").write_text("00001/0001\n1/2\n")
    with pytest.raises(Vimeo90kError, match=r"sep_testlist.txt:2: malformed sequence id '1/2'"):
        Vimeo90kSeptuplet(tmp_path)
    (tmp_path / "sep_testlist.txt").write_text("00001/0001\n00001/0001\n")
    with pytest.raises(Vimeo90kError, match="listed twice"):
        read_list(tmp_path / "sep_testlist.txt")


def test_missing_list_or_sequences_folder(tmp_path):
    with pytest.raises(Vimeo90kError, match="sep_testlist.txt: list file not found"):
        Vimeo90kSeptuplet(tmp_path)
    (tmp_path / "sep_testlist.txt").write_text("00001/0001\n")
    with pytest.raises(Vimeo90kError, match="sequences: folder not found"):
        Vimeo90kSeptuplet(tmp_path)
    with pytest.raises(Vimeo90kError, match="root folder not found"):
        Vimeo90kSeptuplet(tmp_path / "nope")


def test_corrupt_or_mismatched_frames(tmp_path):
    write_vimeo(tmp_path)
    d = tmp_path / "sequences" / "00001" / "0001"
    (d / "im3.png").write_bytes(b"not a png")
    with pytest.raises(Vimeo90kError, match="im3.png: cannot read image"):
        Vimeo90kSeptuplet(tmp_path).load("00001/0001")
    Image.fromarray(np.zeros((9, 12, 3), np.uint8)).save(d / "im3.png")
    with pytest.raises(Vimeo90kError, match="im3.png: size 12x9 differs"):
        Vimeo90kSeptuplet(tmp_path).load("00001/0001")


def test_png_sequence_natural_order_and_grey(tmp_path):
    for k in (1, 2, 10):
        Image.fromarray(np.full((4, 4), k, np.uint8)).save(tmp_path / f"frame{k}.png")  # mode L
    v = read_png_sequence(tmp_path)
    assert v.shape == (3, 4, 4, 3) and v[:, 0, 0, 0].tolist() == [1, 2, 10]
