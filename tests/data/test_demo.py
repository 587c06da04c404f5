import hashlib
import json

import numpy as np
import torch

from ffbench.data import load_prompts
from ffbench.data.config import load_dataset_config
from ffbench.data.demo import (COLORS, demo_items, make_demo_video, render_demo_video, write_demo)
from ffbench.video import read_video

CFG = load_dataset_config("demo")


def test_demo_videos_are_deterministic_and_of_the_promised_sizes():
    items = demo_items()
    assert len(items) == CFG.demo.count == 16
    digests = []
    for it in items:
        v = render_demo_video(it)
        assert v.dtype == torch.uint8 and v.shape == (it.frames, it.size, it.size, 3)
        assert it.size in (64, 128) and 16 <= it.frames <= 32
        assert torch.equal(v, make_demo_video(it.index))  # same tensor on every call
        digests.append(hashlib.sha256(v.numpy().tobytes()).hexdigest())
    assert len(set(digests)) == len(items)
    assert {(it.size, it.frames) for it in items[:6]} == {(s, t) for s in (64, 128) for t in (16, 24, 32)}
    assert len({it.caption for it in items}) == len(items)
    # item i does not depend on how many items are asked for
    assert demo_items(count=3) == items[:3]


def _centroid(frame, rgb):
    ys, xs = np.nonzero(np.all(frame == np.array(rgb, dtype=np.uint8), axis=-1))
    return xs.mean(), ys.mean()


def test_captions_describe_the_motion_and_colour():
    checked = 0
    for it in demo_items(count=40):
        v = make_demo_video(it.index).numpy()
        assert it.caption.split()[1] == it.color
        (x0, y0), (x1, y1) = _centroid(v[0], COLORS[it.color]), _centroid(v[-1], COLORS[it.color])
        dx, dy = x1 - x0, y1 - y0
        expect = {"moving left to right": dx > 10, "moving right to left": dx < -10,
                  "moving from top to bottom": dy > 10, "moving from bottom to top": dy < -10,
                  "moving diagonally": dx > 10 and dy > 10}[it.motion]
        assert expect, (it.caption, dx, dy)
        checked += 1
    assert checked == 40


def test_write_npy_is_exact_and_mp4_readable(tmp_path):
    paths = write_demo(tmp_path / "npy", fmt="npy", count=3)
    for i, p in enumerate(paths):
        assert p.name == f"demo-{i:05d}.npy"
        assert torch.equal(read_video(p), make_demo_video(i))
    again = write_demo(tmp_path / "npy2", fmt="npy", count=3)
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in again]
    mp4 = write_demo(tmp_path / "mp4", fmt="mp4", count=2)
    for i, p in enumerate(mp4):
        v, ref = read_video(p), make_demo_video(i)
        assert v.shape == ref.shape
        assert (v.float() - ref.float()).abs().mean() < 12  # H.264 yuv420p is lossy
    meta = json.loads((tmp_path / "mp4" / "captions.json").read_text())
    assert [m["file"] for m in meta["items"]] == ["demo-00000.mp4", "demo-00001.mp4"]
    assert meta["items"][0]["caption"] == demo_items(count=1)[0].caption


def test_demo_prompts_match_the_videos():
    ps = load_prompts("demo", n=4, seed=0)
    assert ps.sample_ids == ("demo-00000", "demo-00001", "demo-00002", "demo-00003")
    assert list(ps.prompts) == [it.caption for it in demo_items(count=4)]
    assert ps.video_ids == tuple(it.video_id for it in demo_items(count=4))
    assert len(load_prompts("demo")) == 16
