"""Frame-level FID/KID through clean-fid: frame rule, the extractor end to end against
clean-fid's own pipeline, the distances against clean-fid's functions, loading and errors."""
import dataclasses

import numpy as np
import pytest
import torch

from ffbench import protocols as P
from ffbench.metrics import frames as F
from ffbench.metrics.extractors import ExtractorError, build_extractor, names
from ffbench.metrics.extractors.base import script_quietly
from ffbench.weights import WeightsMissing


def _videos(n, t, h=23, w=31, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, t, h, w, 3), dtype=torch.uint8, generator=g)


def _feats(n, d, shift=0.0, seed=0):
    rng = np.random.RandomState(seed)
    return (rng.randn(n, d) + shift).astype(np.float32)


@pytest.fixture(scope="module")
def extractor():
    return build_extractor("inception-cleanfid", random_seed=0, device="cpu")


def test_registered_and_protocols():
    assert "inception-cleanfid" in names()
    for name in ("fid@clean-frames-all", "fid@clean-frames-16", "kid@clean-frames-all",
                 "kid@clean-frames-16"):
        p = P.get(name)
        assert (p.extractor, p.weights, p.resize, p.resolution) == \
            ("inception-cleanfid", "cleanfid_inception", "clean", 299)
    assert P.get("fid@clean-frames-16").frames_per_video == 16
    k = P.get("kid@clean-frames-16")
    assert (k.kid_subsets, k.kid_subset_size) == (100, 1000)  # clean-fid's kernel_distance defaults
    # a field that cannot move the number is not hashed; one that can, is
    f = P.get("fid@clean-frames-16")
    assert dataclasses.replace(f, kid_subsets=3).hash == f.hash
    assert dataclasses.replace(k, kid_subsets=3).hash != k.hash
    assert dataclasses.replace(f, frames_per_video=8).hash != f.hash
    assert dataclasses.replace(P.get("fid@clean-frames-all"), frames_per_video=8).hash == \
        P.get("fid@clean-frames-all").hash


def test_uniform_frames_rule():
    video = torch.arange(20, dtype=torch.uint8).view(20, 1, 1, 1).expand(20, 2, 2, 3).contiguous()
    picked = F.select_frames(video, "fid@clean-frames-16")[:, 0, 0, 0].tolist()
    # torch.linspace(0, 19, 16).long(): first and last frame included, truncation in between
    assert picked == [0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 13, 15, 16, 17, 19]
    assert F.select_frames(video, "fid@clean-frames-all").shape[0] == 20
    with pytest.raises(F.FrameMetricError, match=r"clip\.mp4: 12 frames, protocol fid@clean-frames-16 takes 16"):
        F.select_frames(video[:12], "fid@clean-frames-16", source="clip.mp4")
    with pytest.raises(F.FrameMetricError, match="uint8"):
        F.select_frames(video.float(), "fid@clean-frames-16")
    with pytest.raises(F.FrameMetricError, match="not a frame-level"):
        F.select_frames(video, "fvd@videogpt")


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
def test_features_equal_cleanfid_pipeline(extractor, tmp_path):
    """Our batch path == clean-fid's get_files_features (ResizeDataset with the clean resize,
    InceptionV3W in clean mode) on the same frames and the same TorchScript file."""
    from cleanfid.fid import get_files_features
    from cleanfid.inception_torchscript import InceptionV3W

    extractor.module.save(str(tmp_path / "inception-2015-12-05.pt"))
    frames = torch.cat([_videos(1, 3, 37, 53, seed=1)[0], _videos(1, 2, 37, 53, seed=2)[0]])
    files = []
    for i, f in enumerate(frames):
        np.save(tmp_path / f"{i}.npy", f.numpy())
        files.append(str(tmp_path / f"{i}.npy"))
    ref = get_files_features(files, model=InceptionV3W(str(tmp_path), download=False),
                             num_workers=0, batch_size=32, device=torch.device("cpu"),
                             mode="clean", verbose=False)
    ours = extractor(frames)
    assert ours.dtype == torch.float32 and ours.shape == (5, 2048)
    assert torch.equal(ours, torch.from_numpy(ref))
    assert ours.std(0).mean() > 0  # the stand-in's features depend on the frame
    # per-video features take the protocol's frames
    v = _videos(1, 18, seed=3)[0]
    per_video = F.video_features(v, extractor, "fid@clean-frames-16")
    assert per_video.shape == (16, 2048)
    assert np.array_equal(per_video, extractor(v[torch.linspace(0, 17, 16).long()]).numpy())


def test_from_weights_loads_the_file_and_missing_file_is_named(extractor, tmp_path, isolated_home):
    with pytest.raises(WeightsMissing, match="inception-2015-12-05.pt"):
        build_extractor("inception-cleanfid")
    path = tmp_path / "inception-2015-12-05.pt"
    extractor.module.save(str(path))
    loaded = build_extractor("inception-cleanfid", weights_path=path, device="cpu")
    assert not loaded.random_weights and len(loaded.weights_sha256) == 64
    frames = _videos(1, 2, seed=4)[0]
    assert torch.equal(loaded(frames), extractor(frames))
    bad = tmp_path / "bad" / "inception-2015-12-05.pt"
    bad.parent.mkdir()
    bad.write_bytes(b"not a torchscript archive")
    (isolated_home / "pins.json").unlink()  # the first file was pinned; this one is new
    with pytest.raises(ExtractorError, match="cannot load as a TorchScript archive"):
        build_extractor("inception-cleanfid", weights_path=bad)
    (isolated_home / "pins.json").unlink()
    script_quietly(torch.nn.Linear(2, 2)).save(str(bad))  # TorchScript, but not Inception
    with pytest.raises(ExtractorError, match="no `layers` submodule"):
        build_extractor("inception-cleanfid", weights_path=bad)
    with pytest.raises(ExtractorError, match="only clean-fid's 'clean' resize"):
        build_extractor("inception-cleanfid", random_seed=0, resize="legacy_tensorflow")


def test_fid_equals_cleanfid_on_the_same_features():
    from cleanfid.fid import fid_from_feats

    real, fake = _feats(300, 24, seed=1), _feats(260, 24, 0.2, seed=2)
    with pytest.warns(UserWarning) as rec:
        out = F.score(real, fake, "fid@clean-frames-16", n_real_videos=20, n_fake_videos=17)
    assert [str(w.message) for w in rec] == out["extra"]["warnings"]
    assert any("17 generated videos, fewer than the protocol's 2048" in str(w.message) for w in rec)
    with pytest.warns(DeprecationWarning):  # scipy's, on clean-fid's sqrtm(disp=False)
        ref = fid_from_feats(fake, real)  # clean-fid: frechet_distance(mu_fake, ..., mu_real, ...)
    assert out["value"] == ref
    e = out["extra"]
    assert (e["n_real_frames"], e["n_fake_frames"], e["n_real"], e["n_fake"]) == (300, 260, 20, 17)
    assert any("fewer than the protocol's 2048" in w for w in e["warnings"])


def test_kid_equals_cleanfid_and_leaves_global_random_state_alone():
    from cleanfid.fid import kernel_distance

    real, fake = _feats(90, 24, seed=3), _feats(70, 24, 0.3, seed=4)
    p = dataclasses.replace(P.get("kid@clean-frames-all"), kid_subsets=5, kid_subset_size=40)
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    out = F.score(real, fake, p)
    assert np.array_equal(np.random.get_state()[1], before)
    np.random.seed(p.kid_seed)
    assert out["value"] == kernel_distance(real, fake, num_subsets=5, max_subset_size=40)
    assert out["extra"]["kid_subset_size"] == 40 and out["extra"]["features_dtype"] == "float32"
    assert F.score(real, fake, p)["value"] == out["value"]  # reproducible


def test_kid_end_to_end_on_tiny_videos(extractor):
    real, fake = _videos(3, 4, seed=5), _videos(3, 5, seed=6)
    p = dataclasses.replace(P.get("kid@clean-frames-all"), kid_subsets=3)
    with pytest.warns(UserWarning) as rec:
        out = F.frame_kid(real, fake, extractor, p)
    msgs = [str(w.message) for w in rec]
    assert any("3 real videos, fewer than the protocol's 2048" in m for m in msgs)
    assert any("12 real frames, fewer than the feature dimension 2048" in m for m in msgs)
    assert (out["extra"]["n_real_frames"], out["extra"]["n_fake_frames"]) == (12, 15)
    rf = np.concatenate([extractor(v).numpy() for v in real])
    ff = np.concatenate([extractor(v).numpy() for v in fake])
    with pytest.warns(UserWarning):
        assert out["value"] == F.score(rf, ff, p, 3, 3)["value"]
    assert out["extra"]["warnings"] == msgs


def test_score_errors():
    x = _feats(10, 8)
    with pytest.raises(F.FrameMetricError, match="dimensions differ"):
        F.score(x, _feats(10, 9), "kid@clean-frames-all")
    with pytest.raises(F.FrameMetricError, match="at least 2 frames"):
        F.score(x[:1], x, "kid@clean-frames-all")
    with pytest.raises(F.FrameMetricError, match="NaN"):
        y = x.copy()
        y[0, 0] = np.inf
        F.score(y, x, "fid@clean-frames-all")
    with pytest.raises(F.FrameMetricError, match="not a frame-level fid"):
        F.frame_fid(_videos(2, 2), _videos(2, 2), None, "kid@clean-frames-16")
