"""Issue 17: every input kind read right or refused clearly (one test per failure kind, with the
right value), plus the listing rules and the Python-API forms (`as_video`)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from ffbench import video as V
from ffbench.video import VideoError
from video_samples import make_video, ramp


# --- kind 2: transparency in containers is refused as in arrays ------------------------------

def _alpha_frames(transparent: bool):
    alpha = np.full((24, 32), 255, np.uint8)
    if transparent:
        alpha[:4, :4] = 0
    return ramp(4, 24, 32, alpha=alpha)


@pytest.mark.parametrize("name,codec,pix_fmt,fmt", [
    ("rgba.mov", "png", "rgba", "mov"),
    ("bgra.mkv", "ffv1", "bgra", "matroska"),
])
def test_container_alpha_refused_unless_opaque(tmp_path, name, codec, pix_fmt, fmt):
    bad = make_video(tmp_path / name, codec, pix_fmt=pix_fmt, frames=_alpha_frames(True), fmt=fmt)
    with pytest.raises(VideoError, match="non-opaque alpha") as e:
        V.read_video(bad)
    assert name in str(e.value)
    assert V.probe(bad).has_alpha and V.probe(bad).pix_fmt == pix_fmt
    ok = make_video(tmp_path / f"ok-{name}", codec, pix_fmt=pix_fmt, frames=_alpha_frames(False), fmt=fmt)
    # lossless codecs: opaque RGBA is read exactly as its RGB planes
    assert torch.equal(V.read_video(ok), torch.from_numpy(_alpha_frames(False)[..., :3]))


def test_vp9_webm_side_channel_alpha_is_read_not_dropped(tmp_path):
    # FFmpeg's native vp9 decoder ignores WebM's alpha channel (alpha_mode=1): it must not be
    # read as opaque. Transparent: refused; opaque: read like the RGB planes (lossy codec).
    bad = make_video(tmp_path / "t.webm", "libvpx-vp9", n=4, pix_fmt="yuva420p", frames=_alpha_frames(True))
    with pytest.raises(VideoError, match=r"t\.webm: frame 0 has a non-opaque alpha .*yuva420p"):
        V.read_video(bad)
    with pytest.raises(VideoError, match="non-opaque alpha"):
        V.read_clip(bad, 2, 2)
    assert V.probe(bad).has_alpha
    ok = make_video(tmp_path / "o.webm", "libvpx-vp9", n=4, pix_fmt="yuva420p", frames=_alpha_frames(False))
    v = V.read_video(ok)
    assert v.shape == (4, 24, 32, 3) and torch.equal(V.read_clip(ok, 1, 2, 2), v[1:4:2])
    assert (v.float() - torch.from_numpy(_alpha_frames(False)[..., :3]).float()).abs().mean() < 8


def _palette_gif(path, transparent: bool):
    ims = []
    for i in range(3):
        a = np.full((8, 8), 1 + i, np.uint8)
        if transparent:
            a[:2, :2] = 0
        im = Image.fromarray(a, "P")
        im.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * (252 * 3))
        ims.append(im)
    extra = {"transparency": 0, "disposal": 2} if transparent else {}
    ims[0].save(path, save_all=True, append_images=ims[1:], duration=100, loop=0, **extra)
    return path


def test_gif_with_transparent_pixels_refused_opaque_gif_read(tmp_path):
    with pytest.raises(VideoError, match=r"t\.gif: frame 0 has a non-opaque alpha"):
        V.read_video(_palette_gif(tmp_path / "t.gif", True))
    v = V.read_video(_palette_gif(tmp_path / "o.gif", False))
    assert v[:, 0, 0].tolist() == [[255, 0, 0], [0, 255, 0], [0, 0, 255]]
    info = V.probe(tmp_path / "o.gif")
    assert (info.frames, info.duration_s, info.fps) == (3, pytest.approx(0.3), pytest.approx(10.0))


# --- kind 3: every integer dtype -------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["uint16", "uint32", "uint64", "int8", "int16", "int32", "int64"])
def test_every_integer_dtype_in_range_is_read(tmp_path, dtype):
    ref = ramp(3, 4, 5)
    if dtype == "int8":
        ref = ref // 2  # int8 holds 0..127
    np.save(tmp_path / "a.npy", ref.astype(dtype))
    assert torch.equal(V.read_video(tmp_path / "a.npy"), torch.from_numpy(ref))
    assert torch.equal(V.to_uint8(torch.from_numpy(ref.astype(dtype))), torch.from_numpy(ref))


@pytest.mark.parametrize("dtype,value,found", [("uint16", 256, "[0, 256]"), ("int32", -1, "[-1, 0]"),
                                               ("uint64", 2**63, "[0, 9223372036854775808]")])
def test_integer_out_of_range_names_file(tmp_path, dtype, value, found):
    arr = np.zeros((2, 4, 4, 3), dtype)
    arr[1, 1, 1, 1] = value
    np.save(tmp_path / "bad.npy", arr)
    with pytest.raises(VideoError) as e:
        V.read_video(tmp_path / "bad.npy")
    assert "bad.npy" in str(e.value) and f"must lie in [0, 255], found {found}" in str(e.value)


@pytest.mark.parametrize("dtype", [">u2", ">i4", ">f4", ">f8", "float16", "longdouble"])
def test_big_endian_half_and_long_double_arrays(tmp_path, dtype):
    ref = ramp(2, 4, 5)
    arr = ref.astype(dtype) if np.dtype(dtype).kind in "ui" else (ref / 255).astype(dtype)
    np.save(tmp_path / "a.npy", arr)
    assert torch.equal(V.read_video(tmp_path / "a.npy"), torch.from_numpy(ref))


def test_float_0_255_refused_with_a_hint(tmp_path):
    np.save(tmp_path / "f.npy", ramp(2, 4, 4).astype(np.float32))
    with pytest.raises(VideoError, match=r"f\.npy: float values must lie in \[0, 1\], found \[.*\] "
                                         r"\(looks like 0\.\.255: divide by 255"):
        V.read_video(tmp_path / "f.npy")


def test_bool_array_refused(tmp_path):
    np.save(tmp_path / "b.npy", np.ones((2, 4, 4, 3), bool))
    with pytest.raises(VideoError, match="b.npy: unsupported dtype bool"):
        V.read_video(tmp_path / "b.npy")


# --- kind 5: duration and fps from timestamps ------------------------------------------------

def test_vfr_mkv_duration_from_timestamps(tmp_path):
    # 20 frames, 40/120 ms alternating, last 140 ms: 10*40 + 9*120 + 140 = 1620 ms (not 20/8 fps)
    p = make_video(tmp_path / "vfr.mkv", "libx264", n=20, durations_ms=[40, 120], last_ms=140,
                   fmt="matroska")
    info = V.probe(p)
    assert info.frames == 20 and info.duration_s == pytest.approx(1.62)
    assert info.fps == pytest.approx(20 / 1.62)
    assert V.video_info(p)["duration"] == pytest.approx(1.62)


def test_cfr_avi_probe(tmp_path):
    p = make_video(tmp_path / "a.avi", "mpeg4", n=12, rate=25)
    info = V.probe(p)
    assert (info.frames, info.width, info.height, info.codec, info.pix_fmt, info.has_alpha) == \
        (12, 32, 24, "mpeg4", "yuv420p", False)
    assert info.fps == pytest.approx(25.0) and info.duration_s == pytest.approx(12 / 25)


def test_truncated_avi_frame_count_is_what_decodes(tmp_path):
    # the AVI header keeps saying 30 frames after a cut download: count packets, not the header
    full = make_video(tmp_path / "full.avi", "mpeg4", n=30, h=48, w=64)
    data = full.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: int(len(data) * 0.8)])
    n = V.probe(cut).frames
    assert 0 < n < 30 and n == V.read_video(cut).shape[0]


# --- kind 6: frame folders; listing rules ----------------------------------------------------

def _frame_folder(d, frames, ext="png", names=None):
    d.mkdir(parents=True)
    for i, f in enumerate(frames):
        Image.fromarray(f).save(d / (names[i] if names else f"frame{i}.{ext}"))
    return d


def test_folder_of_frame_folders_is_read_as_videos(tmp_path):
    a, b = ramp(12, 8, 10), ramp(3, 8, 10)[::-1].copy()
    _frame_folder(tmp_path / "vid10", a)  # frame0..frame11: natural order puts frame2 before frame10
    _frame_folder(tmp_path / "vid2", b, ext="bmp")
    listing = V.list_videos(tmp_path)
    assert [p.name for p in listing.videos] == ["vid2", "vid10"] and listing.skipped == []
    assert torch.equal(V.read_video(tmp_path / "vid10"), torch.from_numpy(a))
    assert torch.equal(V.read_clip(tmp_path / "vid10", 2, 4, 3), torch.from_numpy(a[2:12:3]))
    info = V.probe(tmp_path / "vid10")
    assert (info.frames, info.width, info.height, info.fps) == (12, 10, 8, None)


def test_frame_folder_refusals_name_the_frame(tmp_path):
    d = _frame_folder(tmp_path / "v", ramp(2, 8, 8))
    Image.fromarray(ramp(1, 6, 8)[0]).save(d / "frame2.png")
    with pytest.raises(VideoError, match=r"frame2\.png: frame size 8x6 differs"):
        V.read_video(d)
    rgba = np.concatenate([ramp(1, 8, 8)[0], np.zeros((8, 8, 1), np.uint8)], -1)
    Image.fromarray(rgba).save(d / "frame2.png")
    with pytest.raises(VideoError, match=r"frame2\.png: has a non-opaque alpha"):
        V.read_video(d)
    (d / "frame2.png").write_bytes(b"not a png")
    with pytest.raises(VideoError, match=r"frame2\.png: cannot read image"):
        V.read_video(d)


def test_listing_duplicates_hidden_classes_and_natural_order(tmp_path):
    v = torch.from_numpy(ramp(4, 8, 8))
    for sid in ("s-2", "s-10"):
        V.write_video(tmp_path / f"{sid}.npy", v)
        V.write_video(tmp_path / f"{sid}.mp4", v)
    (tmp_path / ".s-3.abc.npy").write_bytes(b"temp of an atomic write")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "gone.mp4").symlink_to(tmp_path / "nowhere.mp4")
    Image.fromarray(ramp(1, 8, 8)[0]).save(tmp_path / "poster.png")
    for cls in ("Walk", "Bike"):
        (tmp_path / cls).mkdir()
        make_video(tmp_path / cls / f"v_{cls}_g01_c01.avi", "mpeg4", n=3, h=8, w=8)
    listing = V.list_videos(tmp_path)
    rel = [listing.relative(p) for p in listing.videos]
    assert rel == ["Bike/v_Bike_g01_c01.avi", "Walk/v_Walk_g01_c01.avi", "s-2.npy", "s-10.npy"]
    assert [(listing.relative(p), r) for p, r in listing.skipped] == [
        ("gone.mp4", "broken symbolic link"),
        ("poster.png", "single image: a video as frames is a folder of images (DIR/<video>/<frame>.png)"),
        ("s-2.mp4", "duplicate of s-2.npy"), ("s-10.mp4", "duplicate of s-10.npy")]
    assert len(listing) == 4 and list(listing) == listing.videos
    assert json.loads(json.dumps(listing.to_dict()))["skipped"][2] == {"path": "s-2.mp4",
                                                                       "reason": "duplicate of s-2.npy"}
    assert [p.name for p in V.list_videos(tmp_path, recursive=False)] == ["s-2.npy", "s-10.npy"]
    assert [p.name for p in V.list_videos(tmp_path, extensions=(".avi",))] == [
        "v_Bike_g01_c01.avi", "v_Walk_g01_c01.avi"]


def test_run_folder_contributes_only_samples(tmp_path):
    from ffbench.harness.rundir import RunDir

    rd = RunDir(tmp_path)
    for sid in ("a-00000", "a-00001"):
        rd.sample(sid, "npy").parent.mkdir(parents=True, exist_ok=True)
        np.save(rd.sample(sid, "npy"), ramp(2, 4, 4))
        rd.preview(sid).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(ramp(1, 4, 4)[0]).save(rd.preview(sid))
    rd.plan_jsonl.write_text("{}\n")
    listing = V.list_videos(tmp_path)
    assert [listing.relative(p) for p in listing] == ["samples/a-00000.npy", "samples/a-00001.npy"]
    assert [listing.relative(p) for p, _ in listing.skipped] == ["previews"]


# --- npz and the Python API forms ------------------------------------------------------------

def test_npz_single_array_or_video_key(tmp_path):
    ref = ramp(3, 4, 4)
    np.savez(tmp_path / "one.npz", frames=ref)
    np.savez(tmp_path / "keyed.npz", video=ref, labels=np.arange(3))
    np.savez(tmp_path / "two.npz", a=ref, b=ref)
    assert torch.equal(V.read_video(tmp_path / "one.npz"), torch.from_numpy(ref))
    assert torch.equal(V.read_clip(tmp_path / "keyed.npz", 1, 2), torch.from_numpy(ref[1:3]))
    with pytest.raises(VideoError, match=r"two\.npz: npz holds \['a', 'b'\]; expected one array or a 'video' key"):
        V.read_video(tmp_path / "two.npz")


def test_as_video_diffusers_forms():
    ref = torch.from_numpy(ramp(3, 6, 5))
    pil = [Image.fromarray(f) for f in ref.numpy()]
    assert torch.equal(V.as_video(pil), ref)
    f01 = ref.float() / 255
    assert torch.equal(V.as_video(f01.numpy()), ref)                  # output_type="np"  [T,H,W,3]
    assert torch.equal(V.as_video(f01.permute(0, 3, 1, 2)), ref)      # output_type="pt"  [T,3,H,W]
    assert torch.equal(V.as_video([f for f in f01.numpy()]), ref)     # list of frames
    with pytest.raises(VideoError, match=r"<api>: ambiguous layout \[2, 3, 5, 4\]"):
        V.as_video(torch.zeros(2, 3, 5, 4))
    with pytest.raises(VideoError, match="cannot tell the channel axis"):
        V.as_video(torch.zeros(2, 5, 6, 7))
    with pytest.raises(VideoError, match=r"batch .*pass one video"):
        V.as_video(torch.zeros(1, 2, 5, 6, 3))
    with pytest.raises(VideoError, match=r"float values must lie in \[0, 1\], found \[-1"):
        V.as_video(f01 * 2 - 1, source="pipe.frames[0]")
    rgba = [Image.fromarray(np.zeros((4, 4, 4), np.uint8), "RGBA")]
    with pytest.raises(VideoError, match="non-opaque alpha"):
        V.as_video(rgba)


def test_video_info_cli_reports_timestamp_duration(tmp_path, cli, capsys):
    p = make_video(tmp_path / "vfr.mkv", "libx264", n=20, durations_ms=[40, 120], last_ms=140,
                   fmt="matroska")
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"junk" * 50)
    proc = cli("video", "info", p, "--json")
    (row,) = json.loads(proc.stdout)
    assert row["duration_s"] == pytest.approx(1.62) and row["frames"] == 20
    assert "duration" not in row  # one key for one value: duration_s (seconds)
    # an unreadable or missing file is an error as in every command: exit 2, {"error": ...}
    from ffbench.cli import main

    gone = tmp_path / "gone.mp4"
    for argv, named in (((p, bad), [bad]), ((gone,), [gone]), ((bad, p, gone), [bad, gone])):
        assert main(["video", "info", *map(str, argv), "--json"]) == 2
        out, err = capsys.readouterr()
        error = json.loads(out)["error"]
        assert error["type"] == "VideoError" and all(str(f) in error["message"] for f in named)
        assert err.startswith(f"ffbench: error: {named[0]}: ")
    assert main(["video", "info", str(gone), str(bad), "--json"]) == 2
    message = json.loads(capsys.readouterr().out)["error"]["message"]
    assert f"{gone}: file does not exist" in message and "cannot decode" in message
    assert main(["video", "info", str(p), str(gone)]) == 2  # text: the readable ones, then the error
    out, err = capsys.readouterr()
    assert str(p) in out and f"ffbench: error: {gone}: file does not exist" in err
    d = tmp_path / "set"
    d.mkdir()
    np.save(d / "s1.npy", ramp(3, 4, 6))
    V.write_video(d / "s1.mp4", torch.from_numpy(ramp(3, 4, 6)))
    _frame_folder(d / "clip", ramp(2, 4, 6))
    proc = cli("video", "info", d)
    assert proc.returncode == 0, proc.stderr
    assert "skipped: " + str(d / "s1.mp4") + ": duplicate of s1.npy" in proc.stdout
    assert str(d / "clip") in proc.stdout and "frames/png" in proc.stdout
