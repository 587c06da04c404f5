import dataclasses
import logging
import random
import shutil

import numpy as np
import pytest
import torch

from ffbench import protocols
from ffbench.data import build_manifest, real_video_set
from ffbench.data.config import DatasetError
from ffbench.data.realvideos import ClipSpec, list_video_files
from ffbench.video import write_video


def _write(d, name, frames, size=8):
    write_video(d / name, torch.from_numpy(np.ascontiguousarray(
        np.broadcast_to(np.arange(frames, dtype=np.uint8)[:, None, None, None], (frames, size, size, 3)))))


def _frame_ids(clip):
    return clip.video[:, 0, 0, 0].tolist()  # frame i of a counter video holds value i


def test_protocol_clip_rules():
    s = ClipSpec.from_protocol("fvd@stylegan-v-2048x16")
    assert (s.rule, s.num_frames, s.stride, s.threshold) == ("random-offset", 16, 1, 16)
    # StyleGAN-V's discard threshold is n*s (fvd2048_128f_subsample8f style strides)
    strided = dataclasses.replace(protocols.get("fvd@stylegan-v-2048x16"), frame_stride=8)
    st = ClipSpec.from_protocol(strided)
    assert (st.span, st.threshold) == (121, 128)
    v = ClipSpec.from_protocol(protocols.get("fvd@videogpt"))
    assert (v.rule, v.min_frames) == ("first", None)  # VideoGPT does not use StyleGAN-V's discard rule
    i = ClipSpec.from_protocol("is@c3d-ucf101")
    assert (i.rule, i.num_frames) == ("first", 16)
    with pytest.raises(Exception, match="no video clip rule"):
        ClipSpec.from_protocol("clipsim@vit-b-32")


def test_stylegan_v_random_offset_bounds_and_consecutive_frames():
    n, s, t = 4, 2, 20
    spec = ClipSpec("random-offset", n, s, min_frames=n * s, seed=0)
    video = torch.from_numpy(np.arange(t, dtype=np.uint8)[:, None, None, None].repeat(3, -1))
    offsets = set()
    for k in range(400):
        clip, off = spec.cut(video, f"v{k}")
        # StyleGAN-V: offset = randint(0, n_avail - n*s + s - 1); frames offset + arange(0, n*s, s)
        assert 0 <= off <= t - n * s + s - 1
        assert clip[:, 0, 0, 0].tolist() == list(range(off, off + n * s, s))
        offsets.add(off)
    assert offsets == set(range(0, t - n * s + s))  # every legal offset occurs, including the last
    # the same key gives the same clip; the seed changes the choice
    assert spec.offset(t, "a.mp4") == spec.offset(t, "a.mp4")
    other = ClipSpec("random-offset", n, s, n * s, seed=1)
    assert [spec.offset(t, f"v{k}") for k in range(20)] != [other.offset(t, f"v{k}") for k in range(20)]
    # and it is Python's random.randint under a derived seed, as the protocol uses
    from ffbench.data.prompts import derive_seed
    assert spec.offset(t, "x") == random.Random(derive_seed(0, "clip/x")).randint(0, t - n * s + s - 1)


def test_first_stride_and_central_rules():
    video = torch.from_numpy(np.arange(40, dtype=np.uint8)[:, None, None, None].repeat(3, -1))
    clip, off = ClipSpec("first", 5, 3).cut(video, "k")
    assert clip[:, 0, 0, 0].tolist() == [0, 3, 6, 9, 12] and off == 0
    clip, off = ClipSpec("central", 16).cut(video[:20], "k")
    assert clip[:, 0, 0, 0].tolist() == list(range(2, 18)) and off == 2
    clip, off = ClipSpec("central", 4, 2).cut(video[:11], "k")  # span 7 centred in 11: start 2
    assert clip[:, 0, 0, 0].tolist() == [2, 4, 6, 8]


def test_first_n_sorted_short_discarded_and_counted(tmp_path, caplog):
    # names listed out of order on disk; sorted order is a, b, c, d, e
    for name, frames in [("e.npy", 16), ("c.npy", 15), ("a.npy", 17), ("d.npy", 30), ("b.npy", 16)]:
        _write(tmp_path, name, frames)
    with caplog.at_level(logging.WARNING):
        s = real_video_set(tmp_path, "fvd@stylegan-v-2048x16", num_videos=3, workers=0, progress=False)
        clips = list(s)
    assert [c.name for c in clips] == ["a.npy", "b.npy", "d.npy"]  # c (15 frames) discarded
    assert [c.index for c in clips] == [0, 1, 2]
    assert all(c.video.shape == (16, 8, 8, 3) and c.video.dtype == torch.uint8 for c in clips)
    assert [ids for ids in map(_frame_ids, clips)] == [list(range(c.offset, c.offset + 16)) for c in clips]
    assert s.stats.used == 3 and s.stats.short == [("c.npy", 15)] and s.stats.shortfall == 0
    assert "c.npy" in caplog.text


def test_stylegan_threshold_is_n_times_stride(tmp_path):
    _write(tmp_path, "a.npy", 31)  # enough for 16 frames at stride 2 ((16-1)*2+1 = 31) ...
    spec = ClipSpec("random-offset", 16, 2, min_frames=32)  # ... but StyleGAN-V needs n*s = 32
    s = real_video_set(tmp_path, spec, num_videos="all", workers=0, progress=False)
    assert list(s) == [] and s.stats.short == [("a.npy", 31)]
    s2 = real_video_set(tmp_path, ClipSpec("random-offset", 16, 2), num_videos="all", workers=0, progress=False)
    (clip,) = list(s2)
    assert _frame_ids(clip) == list(range(0, 31, 2)) and clip.offset == 0


def test_corrupt_and_short_files_reported_skipped_counted(tmp_path, caplog):
    _write(tmp_path, "a_good.npy", 20)
    (tmp_path / "b_garbage.mp4").write_bytes(b"\x00\x01 not a video" * 10)
    (tmp_path / "c_truncated.npy").write_bytes((tmp_path / "a_good.npy").read_bytes()[:100])
    _write(tmp_path, "d_short.npy", 5)
    _write(tmp_path, "e_good.mp4", 18, size=16)
    with caplog.at_level(logging.WARNING):
        s = real_video_set(tmp_path, "fvd@stylegan-v-2048x16", workers=2, progress=False)
        clips = list(s)
    assert [c.name for c in clips] == ["a_good.npy", "e_good.mp4"]
    st = s.stats.to_dict()
    assert st["corrupt"] == 2 and st["discarded_short"] == 1 and st["used"] == 2
    assert st["listed"] == 5 and st["requested"] == 2048 and st["shortfall"] == 2046
    assert {n for n, _ in s.stats.corrupt} == {"b_garbage.mp4", "c_truncated.npy"}
    for name in ("b_garbage.mp4", "c_truncated.npy", "d_short.npy", "only 2 usable videos"):
        assert name in caplog.text
    strict = real_video_set(tmp_path, "fvd@stylegan-v-2048x16", workers=0, progress=False, strict=True)
    with pytest.raises(DatasetError, match="only 2 usable videos of the 2048"):
        list(strict)


def test_clips_do_not_depend_on_worker_count(tmp_path):
    for i in range(6):
        _write(tmp_path, f"v{i}.npy", 20 + i)
    a = [(c.name, c.offset) for c in real_video_set(tmp_path, "fvd@stylegan-v-2048x16", workers=0, progress=False)]
    b = [(c.name, c.offset) for c in real_video_set(tmp_path, "fvd@stylegan-v-2048x16", workers=2, progress=True)]
    c = [(c.name, c.offset) for c in real_video_set(tmp_path, "fvd@stylegan-v-2048x16", seed=7, workers=0, progress=False)]
    assert a == b and a != c


def test_manifest_hash_ignores_listing_order_and_tracks_content(tmp_path):
    d1, d2 = tmp_path / "one", tmp_path / "two"
    d1.mkdir(), d2.mkdir()
    names = ["x.npy", "a.npy", "m.npy"]
    for n in names:
        _write(d1, n, 10)
    for n in reversed(names):  # same files, created in another order
        _write(d2, n, 10)
    files = list_video_files(d1)
    m = build_manifest(d1, frames=True, workers=0, progress=False)
    assert build_manifest(d1, files=list(reversed(files)), frames=False, workers=0, progress=False).hash == m.hash
    assert build_manifest(d2, frames=False, workers=2, progress=False).hash == m.hash
    assert [e.path for e in m.entries] == ["a.npy", "m.npy", "x.npy"]
    assert all(e.frames == 10 and (e.width, e.height) == (8, 8) for e in m.entries)
    # one changed byte changes the hash
    p = d2 / "m.npy"
    raw = bytearray(p.read_bytes())
    raw[-1] ^= 1
    p.write_bytes(bytes(raw))
    assert build_manifest(d2, frames=False, workers=0, progress=False).hash != m.hash
    # so does a renamed file (it changes which videos are "the first N")
    shutil.move(d1 / "x.npy", d1 / "y.npy")
    assert build_manifest(d1, frames=False, workers=0, progress=False).hash != m.hash


def test_manifest_records_unreadable_files_and_keys_the_cache(tmp_path):
    _write(tmp_path, "a.npy", 16)
    (tmp_path / "b.mp4").write_bytes(b"junk")
    m = build_manifest(tmp_path, workers=0, progress=False)
    assert [e.error is not None for e in m.entries] == [False, True]
    s = real_video_set(tmp_path, "fvd@stylegan-v-2048x16", workers=0, progress=False)
    key = s.cache_key()
    assert key == real_video_set(tmp_path, "fvd@stylegan-v-2048x16", workers=0, progress=False).cache_key()
    assert key != real_video_set(tmp_path, "fvd@stylegan-v-2048x16", seed=1, workers=0, progress=False).cache_key()
    assert key != real_video_set(tmp_path, "fvd@videogpt", workers=0, progress=False).cache_key()


def test_ucf101_real_set_from_the_official_layout(tmp_path, fx):
    fx.write_ucf_splits(tmp_path)
    fx.write_ucf_videos(tmp_path, frames=12, skip={"YoYo/v_YoYo_g01_c01.avi"})
    spec = ClipSpec("random-offset", 8, 1, min_frames=8)
    s = real_video_set("ucf101", spec, root=tmp_path, num_videos=4, workers=2, progress=False)
    clips = list(s)
    assert [c.name for c in clips] == ["ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi",
                                       "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi",
                                       "ApplyEyeMakeup/v_ApplyEyeMakeup_g09_c02.avi",
                                       "HandstandPushups/v_HandStandPushups_g01_c01.avi"]
    assert all(c.video.shape == (8, 32, 32, 3) and c.total_frames == 12 for c in clips)
    assert s.stats.missing == ["YoYo/v_YoYo_g01_c01.avi"]
    assert s.describe()["provenance"]["dataset"] == "ucf101"


def test_demo_real_set(tmp_path):
    s = real_video_set("demo", "fvd@stylegan-v-2048x16", root=tmp_path, num_videos=5, workers=0, progress=False)
    clips = list(s)
    assert len(clips) == 5 and {tuple(c.video.shape[1:3]) for c in clips} == {(64, 64), (128, 128)}
    assert (tmp_path / "captions.json").is_file()
