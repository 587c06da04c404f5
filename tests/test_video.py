import numpy as np
import pytest
import torch

from ffbench import video as V
from ffbench.video import VideoError


def gradient_video(t=9, h=32, w=48):
    """Smooth content: H.264 keeps it close, so the round-trip tolerance is meaningful."""
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    frames = []
    for i in range(t):
        r = (xx * 4 + i * 8) % 256
        g = (yy * 6 + i * 3) % 256
        b = torch.full_like(xx, 40 + 20 * (i % 5))
        frames.append(torch.stack([r, g, b], -1))
    return torch.stack(frames).to(torch.uint8)


def test_npy_round_trip_is_exact(tmp_path):
    v = (torch.rand(7, 13, 17, 3) * 255).to(torch.uint8)
    V.write_video(tmp_path / "a.npy", v)
    assert torch.equal(V.read_video(tmp_path / "a.npy"), v)


def test_npz_and_float_arrays(tmp_path):
    arr = np.random.default_rng(0).random((5, 8, 8, 3)).astype(np.float32)
    np.savez(tmp_path / "a.npz", video=arr)
    out = V.read_video(tmp_path / "a.npz")
    assert out.dtype == torch.uint8 and out.shape == (5, 8, 8, 3)
    assert torch.equal(out, torch.from_numpy(np.round(arr * 255).astype(np.uint8)))


@pytest.mark.parametrize("size", [(32, 48), (33, 47)])
def test_mp4_round_trip_within_codec_tolerance(tmp_path, size):
    # H.264 crf 17 + yuv420p chroma subsampling: mean abs error below 3 grey levels on smooth
    # content, odd sizes padded on write and cropped back on read.
    v = gradient_video(9, *size)
    V.write_video(tmp_path / "a.mp4", v, fps=8)
    r = V.read_video(tmp_path / "a.mp4")
    assert r.shape == v.shape
    err = (r.float() - v.float()).abs()
    assert err.mean() < 3.0
    info = V.video_info(tmp_path / "a.mp4")
    assert (info["frames"], info["width"], info["height"], info["codec"]) == (9, size[1], size[0], "h264")
    assert info["fps"] == pytest.approx(8.0) and info["duration"] == pytest.approx(9 / 8)


def test_gif_preview_and_read(tmp_path):
    v = gradient_video(4, 16, 16)
    V.write_video(tmp_path / "p.gif", v, fps=4)
    r = V.read_video(tmp_path / "p.gif")
    assert r.shape == (4, 16, 16, 3)
    V.write_preview(tmp_path / "p.webp", v, fps=4, max_side=8)
    assert (tmp_path / "p.webp").stat().st_size > 0


def test_write_is_atomic_no_temp_left(tmp_path):
    V.write_video(tmp_path / "a.mp4", gradient_video(3, 16, 16))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4"]


def test_grayscale_is_repeated_and_opaque_alpha_dropped(tmp_path):
    g = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4)
    np.save(tmp_path / "g.npy", g)
    out = V.read_video(tmp_path / "g.npy")
    assert out.shape == (2, 4, 4, 3) and torch.equal(out[..., 0], out[..., 2])
    rgba = np.full((2, 4, 4, 4), 255, dtype=np.uint8)
    np.save(tmp_path / "a.npy", rgba)
    assert V.read_video(tmp_path / "a.npy").shape == (2, 4, 4, 3)


@pytest.mark.parametrize("name,make,reason", [
    ("missing.mp4", None, "does not exist"),
    ("corrupt.mp4", lambda p: p.write_bytes(b"not a video at all" * 10), "cannot decode"),
    ("empty.npy", lambda p: np.save(p, np.zeros((0, 4, 4, 3), np.uint8)), "zero frames"),
    ("nan.npy", lambda p: np.save(p, np.full((2, 4, 4, 3), np.nan, np.float32)), "NaN"),
    ("range.npy", lambda p: np.save(p, np.full((2, 4, 4, 3), 2.0, np.float32)), "[0, 1]"),
    ("alpha.npy", lambda p: np.save(p, np.zeros((2, 4, 4, 4), np.uint8)), "alpha"),
    ("twoch.npy", lambda p: np.save(p, np.zeros((2, 4, 4, 2), np.uint8)), "channels"),
    ("bad.npy", lambda p: p.write_bytes(b"garbage"), "cannot read array"),
    ("x.txt", lambda p: p.write_text("hi"), "unsupported extension"),
])
def test_bad_input_raises_video_error_naming_file(tmp_path, name, make, reason):
    path = tmp_path / name
    if make:
        make(path)
    with pytest.raises(VideoError) as e:
        V.read_video(path)
    assert name in str(e.value) and reason in str(e.value)


def test_fewer_frames_than_asked(tmp_path):
    np.save(tmp_path / "s.npy", np.zeros((5, 4, 4, 3), np.uint8))
    with pytest.raises(VideoError, match="has 5 frames, first 16 needs 16"):
        V.read_video(tmp_path / "s.npy", num_frames=16)


def test_sampling_helpers():
    v = torch.arange(20).view(20, 1, 1, 1).expand(20, 2, 2, 3).to(torch.uint8)
    idx = lambda x: x[:, 0, 0, 0].tolist()  # noqa: E731
    assert idx(V.first_n(v, 3)) == [0, 1, 2]
    assert idx(V.consecutive(v, 4, offset=5, stride=3)) == [5, 8, 11, 14]
    assert idx(V.every_kth(v, 5)) == [0, 5, 10, 15]
    assert idx(V.every_kth(v, 5, n=2)) == [0, 5]
    assert idx(V.central_n(v, 4)) == [8, 9, 10, 11]
    assert idx(V.central_n(v[:5], 2)) == [1, 2]
    assert V.num_clips(20, 4, 3) == 11 and V.num_clips(5, 16) == 0
    with pytest.raises(VideoError, match="needs"):
        V.consecutive(v, 4, offset=15, stride=3)
    with pytest.raises(VideoError):
        V.every_kth(v, 0)


def test_validate_rejects_wrong_layout():
    with pytest.raises(VideoError, match=r"\[T,H,W,3\]"):
        V.validate_video(torch.zeros(2, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(VideoError, match="uint8"):
        V.validate_video(torch.zeros(2, 8, 8, 3))


def test_list_videos_sorted(tmp_path):
    for n in ["b.mp4", "a.npy", "c.txt", "A.gif"]:
        (tmp_path / n).write_bytes(b"")
    assert [p.name for p in V.list_videos(tmp_path)] == ["A.gif", "a.npy", "b.mp4"]
    with pytest.raises(VideoError, match="not a directory"):
        V.list_videos(tmp_path / "nope")
