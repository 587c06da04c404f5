"""read_clip is clip-exact (equal to decoding everything and slicing) on the codecs researchers
meet, decodes from the keyframe before the clip (not from frame 0), holds memory bounded by the
clip, and ClipLoader reports short/corrupt files per item instead of stopping."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch

from ffbench import video as V
from ffbench.video import container as decoding
from video_samples import CLIP_CODECS, make_video, ramp

CLIPS = [(0, 5, 1), (1, 4, 2), (6, 3, 1), (7, 5, 3), (13, 8, 1), (29, 1, 1), (20, 5, 2)]


@pytest.fixture(scope="module")
def codec_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("codecs")
    return {k: make_video(d / name, n=30, **kw) for k, (name, kw) in CLIP_CODECS.items()}


@pytest.mark.parametrize("codec", list(CLIP_CODECS))
def test_read_clip_equals_full_decode_sliced(codec_files, codec, monkeypatch):
    path = codec_files[codec]
    full = V.read_video(path)
    assert full.shape == (30, 24, 32, 3)
    # a clip that starts after frame 0 must come from a seek, never from decoding the file from 0
    sequential = decoding._decode_sequential

    def no_restart(path_, container, stream, indices):
        assert indices is None or indices[0] == 0, f"{codec}: fell back to decoding from frame 0"
        return sequential(path_, container, stream, indices)

    monkeypatch.setattr(decoding, "_decode_sequential", no_restart)
    for start, n, stride in CLIPS:
        clip = V.read_clip(path, start, n, stride)
        assert torch.equal(clip, full[start: start + (n - 1) * stride + 1: stride]), (codec, start, n, stride)
    with pytest.raises(V.VideoError, match=r"has 30 frames, 4 frames from 25 every 2 needs 32"):
        V.read_clip(path, 25, 4, 2)


def test_read_clip_decodes_from_keyframe_before_start(tmp_path, monkeypatch):
    # keyframe every 6 frames: a clip at 14..16 decodes 12..16 (the GOP start to the last frame)
    path = make_video(tmp_path / "g.avi", "mpeg4", n=30, options={"g": "6"})
    seen = []
    real = decoding._to_rgb

    def counting(frame, p, index):
        seen.append(index)
        return real(frame, p, index)

    monkeypatch.setattr(decoding, "_to_rgb", counting)
    decoded = []
    frames = decoding._iter_frames

    def spy(container, stream):
        for f in frames(container, stream):
            decoded.append(f.pts)  # avi time base is 1/rate: pts == frame index
            yield f

    monkeypatch.setattr(decoding, "_iter_frames", spy)
    V.read_clip(path, 14, 3)
    assert seen == [14, 15, 16] and decoded == [12, 13, 14, 15, 16]


def test_read_clip_memory_bounded_by_clip_not_file(tmp_path):
    n, h, w = 400, 48, 64
    path = make_video(tmp_path / "long.avi", "mpeg4", n=n, h=h, w=w, options={"g": "12"})
    np.save(tmp_path / "long.npy", ramp(n, h, w))
    frame_bytes = h * w * 3
    for p in (path, tmp_path / "long.npy"):
        V.probe(p)  # index cached outside the measurement
        tracemalloc.start()
        clip = V.read_clip(p, 300, 8, 2)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert clip.shape == (8, h, w, 3)
        # the clip is 8 frames; decoding the whole file would hold 400 (3.7 MB)
        assert peak < 40 * frame_bytes, (p.name, peak / frame_bytes)
    assert torch.equal(V.read_clip(tmp_path / "long.npy", 300, 8, 2), torch.from_numpy(ramp(n, h, w)[300:315:2]))


def test_read_clip_of_frame_folder_opens_only_the_clip_frames(tmp_path, monkeypatch):
    from PIL import Image

    from ffbench.video import reader

    d = tmp_path / "v"
    d.mkdir()
    frames = ramp(40, 6, 8)
    for i, f in enumerate(frames):
        Image.fromarray(f).save(d / f"{i}.png")
    opened = []
    real = reader._read_frame_file
    monkeypatch.setattr(reader, "_read_frame_file", lambda p, size=None: opened.append(p.name) or real(p, size))
    clip = V.read_clip(d, 30, 3, 4)
    assert torch.equal(clip, torch.from_numpy(frames[30:39:4])) and opened == ["30.png", "34.png", "38.png"]


class _Spec:
    """A start rule like realvideos.ClipSpec: offset from the frame count and a key."""
    threshold = 6

    def offset(self, total_frames, key):
        return total_frames - 6 if key.endswith("b") else 1


def test_clip_loader_reports_short_and_corrupt_per_item(tmp_path):
    from ffbench.data.realvideos import ClipSpec

    vids = {name: ramp(t, 8, 8) for name, t in [("a", 10), ("b", 12), ("short", 4)]}
    for name, v in vids.items():
        np.save(tmp_path / f"{name}.npy", v)
    make_video(tmp_path / "c.avi", "mpeg4", n=9, h=8, w=8)
    (tmp_path / "broken.mp4").write_bytes(b"junk" * 40)
    spec = ClipSpec("random-offset", 3, 2, seed=7)
    reqs = [(tmp_path / "a.npy", _Spec(), 3, 2, "a"), (tmp_path / "short.npy", 0, 5),
            (tmp_path / "broken.mp4", 0, 2), (tmp_path / "b.npy", _Spec(), 3, 2, "b"),
            (tmp_path / "c.avi", spec, 3, 2, "c.avi"), (tmp_path / "gone.npy", 0, 1)]
    for workers in (0, 1):
        loader = V.ClipLoader(reqs, num_workers=workers)
        items = list(loader)
        assert [it.index for it in items] == list(range(6))
        assert torch.equal(items[0].clip, torch.from_numpy(vids["a"][1:6:2])) and items[0].error is None
        assert items[1].clip is None and items[1].error == "too short (4 frames < 5)"
        assert items[2].clip is None and items[2].error.startswith("corrupt: cannot decode")
        assert torch.equal(items[3].clip, torch.from_numpy(vids["b"][6:11:2]))
        off = spec.offset(9, "c.avi")
        assert loader.offsets[4] == off and loader.frames[4] == 9
        assert torch.equal(items[4].clip, V.read_video(tmp_path / "c.avi")[off: off + 5: 2])
        assert items[5].error == "missing: file does not exist"


def test_issue17_short_fake_videos_are_named_not_dropped(tmp_path):
    # 2 videos of 16 frames and 2 of 12: a 16-frame "first" clip uses 2 and names the other 2
    from ffbench.data.realvideos import ClipSpec

    for name, t in [("f0", 16), ("f1", 12), ("f2", 16), ("f3", 12)]:
        np.save(tmp_path / f"{name}.npy", ramp(t, 4, 6))
    listing = V.list_videos(tmp_path)
    spec = ClipSpec("first", 16)
    items = list(V.ClipLoader([(p, spec, 16, 1, p.name) for p in listing]))
    used = [listing[i].name for i, clip, err in items if err is None]
    skipped = {listing[i].name: err for i, clip, err in items if err is not None}
    assert used == ["f0.npy", "f2.npy"]
    assert skipped == {"f1.npy": "too short (12 frames < 16)", "f3.npy": "too short (12 frames < 16)"}
