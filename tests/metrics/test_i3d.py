"""I3D extractors: piergiaj key layout, protocol preprocessing, the TorchScript calling
convention, batch-size invariance and input errors. Random weights only."""
import math
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from ffbench.metrics.extractors import ExtractorError, build_extractor, get_extractor
from ffbench.metrics.extractors.i3d import BN_EPS, BN_MOMENTUM, I3D400Extractor, InceptionI3d
from ffbench.weights import WeightsMissing, home, sha256_of

DATA = Path(__file__).parent / "data"


def _expected_keys():
    rows = []
    for line in (DATA / "i3d_keys.tsv").read_text().splitlines():
        if line and not line.startswith("#"):
            k, shape = line.split("\t")
            rows.append((k, tuple(int(s) for s in shape.strip("[]").split(", ") if s)))
    return rows


def _videos(n=2, t=10, h=24, w=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, t, h, w, 3), dtype=torch.uint8, generator=g)


@pytest.fixture(scope="module")
def small_i3d():
    return I3D400Extractor.random(0, resize="direct", resolution=32, device="cpu")


def test_keys_and_shapes_equal_piergiaj():
    expected = _expected_keys()
    assert len(expected) == 344
    ours = {k: tuple(v.shape) for k, v in InceptionI3d(400).state_dict().items()}
    assert ours == dict(expected)
    bns = [m for m in InceptionI3d(400).modules() if isinstance(m, torch.nn.BatchNorm3d)]
    assert bns and all(m.eps == BN_EPS == 1e-5 and m.momentum == BN_MOMENTUM == 0.001 for m in bns)


def test_state_dict_in_piergiaj_layout_loads_strict(tmp_path):
    g = torch.Generator().manual_seed(0)
    sd = {k: (torch.randn(s, generator=g) * 0.01 if s else torch.tensor(0))
          for k, s in _expected_keys()}
    path = tmp_path / "i3d_pretrained_400.pt"
    torch.save(sd, path)
    ex = build_extractor("i3d-400", weights_path=path, resize="direct", device="cpu")
    assert not ex.random_weights and ex.weights_sha256 == sha256_of(path)
    assert torch.equal(ex.model.state_dict()["Mixed_5c.b3b.conv3d.weight"], sd["Mixed_5c.b3b.conv3d.weight"])
    (home() / "pins.json").unlink()  # the first use pinned the good file's digest
    del sd["logits.conv3d.bias"]
    sd["extra.weight"] = torch.zeros(1)
    bad = tmp_path / "bad" / "i3d_pretrained_400.pt"
    bad.parent.mkdir()
    torch.save(sd, bad)
    with pytest.raises(ExtractorError, match="logits.conv3d.bias.*extra.weight"):
        build_extractor("i3d-400", weights_path=bad)


def test_missing_weights_never_fall_back_to_random():
    with pytest.raises(WeightsMissing, match="i3d_pretrained_400.pt"):
        build_extractor("i3d-400")
    with pytest.raises(WeightsMissing, match="i3d_torchscript.pt"):
        build_extractor("i3d-torchscript")


def _videogpt_preprocess_one(video, r):
    """VideoGPT videogpt/data.py preprocess, written out per video (metrics.md §1b)."""
    v = video.permute(0, 3, 1, 2).float() / 255.0
    t, c, h, w = v.shape
    scale = r / min(h, w)
    size = (r, math.ceil(w * scale)) if h < w else (math.ceil(h * scale), r)
    v = F.interpolate(v, size=size, mode="bilinear", align_corners=False)
    t, c, h, w = v.shape
    v = v[:, :, (h - r) // 2:(h - r) // 2 + r, (w - r) // 2:(w - r) // 2 + r]
    return (v.permute(1, 0, 2, 3).contiguous() - 0.5) * 2


@pytest.mark.parametrize("h,w", [(24, 40), (40, 24), (30, 30)])
def test_preprocessing_per_protocol(h, w):
    v = _videos(2, 10, h, w)
    vg = I3D400Extractor(InceptionI3d(8), resize="short-side-crop", resolution=20, device="cpu")
    out = vg.preprocess(v)
    assert out.shape == (2, 3, 10, 20, 20)
    for i in range(2):
        torch.testing.assert_close(out[i], _videogpt_preprocess_one(v[i], 20), rtol=0, atol=1e-6)
    cd = I3D400Extractor(InceptionI3d(8), resize="direct", resolution=20, device="cpu")
    frames = v.flatten(0, 1).permute(0, 3, 1, 2).float()
    ref = F.interpolate(frames, size=(20, 20), mode="bilinear", align_corners=False)
    ref = 2.0 * ref.view(2, 10, 3, 20, 20).transpose(1, 2) / 255.0 - 1
    torch.testing.assert_close(cd.preprocess(v), ref, rtol=0, atol=1e-6)
    assert out.min() >= -1 and out.max() <= 1


def test_features_do_not_depend_on_batch_size(small_i3d):
    v = _videos(3, 10, 24, 32)
    together = small_i3d(v)
    alone = torch.cat([small_i3d(v[i:i + 1]) for i in range(3)])
    assert together.shape == (3, 400) and together.dtype == torch.float32
    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-6)
    assert not torch.allclose(together[0], together[1])  # different videos, different features
    assert small_i3d.random_weights and small_i3d.describe()["random_weights"] is True


def test_input_errors(small_i3d):
    v = _videos(1, 10, 24, 32)
    with pytest.raises(ExtractorError, match="at least 10 frames"):
        small_i3d(_videos(1, 9, 24, 32))
    with pytest.raises(ExtractorError, match=r"looks like \[N,T,3,H,W\]"):
        small_i3d(v.permute(0, 1, 4, 2, 3))
    with pytest.raises(ExtractorError, match="uint8"):
        small_i3d(v.float() / 255)
    with pytest.raises(ExtractorError, match="batch dimension"):
        small_i3d(v[0])


def test_nan_features_are_an_error():
    ex = I3D400Extractor.random(1, resize="direct", resolution=32, device="cpu")
    with torch.no_grad():
        ex.model.logits.conv3d.bias[5] = float("nan")
    with pytest.raises(ExtractorError, match="NaN"):
        ex(_videos(1, 10, 16, 16))


class _Probe(torch.nn.Module):
    """Stand-in with the StyleGAN-V detector's forward signature; its output reports how it was called."""

    def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = False,
                return_features: bool = False) -> torch.Tensor:
        out = torch.zeros(x.shape[0], 400)
        out[:, 0] = float(rescale)
        out[:, 1] = float(resize)
        out[:, 2] = float(return_features)
        out[:, 3] = float(x.dtype == torch.uint8)
        out[:, 4] = float(x.shape[1])
        out[:, 5] = float(x.shape[2])
        out[:, 6] = x[:, 0].float().mean(dim=[1, 2, 3])  # channel 0 = R
        return out


def test_torchscript_calling_convention(tmp_path):
    path = tmp_path / "i3d_torchscript.pt"
    with warnings.catch_warnings():  # torch 2.x deprecates TorchScript; the reference file is one
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(_Probe()), str(path))
    ex = build_extractor("i3d-torchscript", weights_path=path, device="cpu")
    assert ex.weights_sha256 == sha256_of(path) and not ex.random_weights
    v = _videos(2, 12, 20, 28)
    out = ex(v)
    assert out[:, :4].eq(1).all(), "must pass uint8 with rescale=resize=return_features=True"
    assert out[:, 4].eq(3).all() and out[:, 5].eq(12).all(), "layout must be [B, C, T, H, W]"
    torch.testing.assert_close(out[:, 6], v[..., 0].float().mean(dim=[1, 2, 3]))


def test_torchscript_random_stand_in_matches_module():
    ts = build_extractor("i3d-torchscript", random_seed=0, stand_in_resolution=32, device="cpu")
    assert ts.random_weights and isinstance(ts.module, torch.jit.ScriptModule)
    v = _videos(1, 10, 16, 16)
    model = InceptionI3d(400)
    model.load_state_dict(ts.module.model.state_dict())
    x = F.interpolate(v.permute(0, 4, 1, 2, 3).float() / 127.5 - 1, size=[10, 32, 32],
                      mode="trilinear", align_corners=False)
    with torch.no_grad():
        torch.testing.assert_close(ts(v), model.eval()(x), rtol=1e-4, atol=1e-6)


def test_registry():
    assert get_extractor("i3d-400") is I3D400Extractor
    with pytest.raises(ExtractorError, match="unknown extractor"):
        get_extractor("i3d-600")
    with pytest.raises(ExtractorError, match="unknown resize"):
        I3D400Extractor.random(0, resize="crop-ish")


def _reference_cd_fvd_folder(video_thwc: torch.Tensor, res: int) -> torch.Tensor:
    """cd-fvd's folder pipeline written out (cdfvd/utils/data_utils.py preprocess, then
    compute_real_stats' `(video*255).byte()` and the array path's resize to 224 and 2x/255-1)."""
    import math

    import torch.nn.functional as F

    v = video_thwc.permute(0, 3, 1, 2).float() / 255.0
    t, c, h, w = v.shape
    scale = res / min(h, w)
    size = (res, math.ceil(w * scale)) if h < w else (math.ceil(h * scale), res)
    v = F.interpolate(v, size=size, mode="bilinear", align_corners=False, antialias=True)
    top, left = (v.shape[2] - res) // 2, (v.shape[3] - res) // 2
    v = v[:, :, top:top + res, left:left + res]
    u8 = (v * 255).byte()
    x = F.interpolate(u8.float(), size=(224, 224), mode="bilinear", align_corners=False)
    return (2.0 * x / 255.0 - 1).permute(1, 0, 2, 3)  # CTHW


@pytest.mark.parametrize("res,h,w", [(256, 240, 320), (128, 240, 320), (128, 300, 200)])
def test_cd_fvd_folder_mode_equals_its_pipeline(res, h, w):
    g = torch.Generator().manual_seed(res + h)
    videos = torch.randint(0, 256, (2, 3, h, w, 3), generator=g, dtype=torch.uint8)
    folder = I3D400Extractor(InceptionI3d(8), resize=f"cd-fvd-folder-{res}", device="cpu")
    x = folder.preprocess(videos)
    for i in range(2):
        assert torch.equal(x[i], _reference_cd_fvd_folder(videos[i], res))
    # the array path (direct to 224) gives a different network input on non-square frames
    direct = I3D400Extractor(InceptionI3d(8), resize="direct", device="cpu").preprocess(videos)
    assert float((direct - x).abs().mean()) > 0.05


def test_cd_fvd_protocols_name_their_path():
    from ffbench import protocols

    assert protocols.get("fvd@cd-fvd-i3d").resize == "direct"
    assert protocols.get("fvd@cd-fvd-i3d-folder").resize == "cd-fvd-folder-256"
    assert protocols.get("fvd@cd-fvd-i3d-folder128").resize == "cd-fvd-folder-128"
    with pytest.raises(ExtractorError, match="cd-fvd-folder-<positive int>"):
        I3D400Extractor(InceptionI3d(8), resize="cd-fvd-folder-abc", device="cpu")
