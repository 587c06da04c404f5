"""CLIPSIM equals a direct computation with the clip package's own pieces.

Reference: per video, PIL frames through `clip.clip._transform(224)` (CLIP's own preprocess),
`model.encode_image` / `model.encode_text(clip.tokenize(..., truncate=True))`, L2-normalised,
cosine per frame, mean over frames; then mean over videos. Same tiny random-weight
`clip.model.CLIP`. Preprocessing is bit-equal to CLIP's PIL path (test_clipsim_preprocess.py);
what remains is float32 batching in the forward (one batched pass vs per video), so the
tolerance is 1e-6 absolute on cosines.
"""
from __future__ import annotations

import dataclasses
import warnings

import pytest
import torch

from ffbench import weights
from ffbench.metrics.clipsim import CLIPSIM, clipsim
from ffbench.metrics.extractors.clip import CLIPExtractor

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import clip

TOL = 1e-6


@pytest.fixture(scope="module")
def extractor():
    return CLIPExtractor.random(seed=0)


def _videos(n=3, t=4, h=72, w=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    # smooth content plus noise, so resizing matters like on real frames
    base = torch.rand(n, t, 3, h // 8, w // 8, generator=g) * 255
    up = torch.nn.functional.interpolate(base.flatten(0, 1), size=(h, w), mode="bilinear")
    v = up.reshape(n, t, 3, h, w) + torch.randn(n, t, 3, h, w, generator=g) * 10
    return v.clamp(0, 255).round().to(torch.uint8).permute(0, 1, 3, 4, 2).contiguous()


PROMPTS = ["a cat playing piano", "a red car driving through the rain at night", "a dog"]


def _reference(model, videos, prompts):
    from PIL import Image

    tf = clip.clip._transform(224)
    with torch.no_grad():
        text = model.encode_text(clip.tokenize(prompts, truncate=True)).float()
        text = text / text.norm(dim=-1, keepdim=True)
        out = []
        for v, t in zip(videos, text):
            x = torch.stack([tf(Image.fromarray(f.numpy())) for f in v])
            img = model.encode_image(x).float()
            img = img / img.norm(dim=-1, keepdim=True)
            out.append((img @ t).mean())
    return torch.stack(out).double()


def test_equals_clip_package_reference(extractor):
    videos = _videos()
    m = CLIPSIM(extractor=extractor)
    m.update(videos, PROMPTS)
    ref = _reference(extractor.model, videos, PROMPTS)
    per = m.per_video_scores()
    assert torch.allclose(per, ref, atol=TOL), (per, ref)
    assert abs(float(m.compute()) - float(ref.mean())) < TOL
    # the test can fail: different prompts give clearly different values on this model
    assert float((per - per.mean()).abs().max()) > 10 * TOL
    assert m.random_weights and m.describe()["random_weights"] is True
    import PIL  # the reference preprocessing moves with Pillow: its version goes with the number

    assert m.describe()["pillow"] == PIL.__version__ == m.describe()["preprocess"]["pillow"]


def test_list_of_different_sizes_matches_reference(extractor):
    a, b = _videos(1, 3, 64, 80, seed=1)[0], _videos(1, 2, 240, 180, seed=2)[0]
    m = CLIPSIM(extractor=extractor)
    m.update([a, b], PROMPTS[:2])
    ref = torch.cat([_reference(extractor.model, [a], PROMPTS[:1]), _reference(extractor.model, [b], PROMPTS[1:2])])
    assert torch.allclose(m.per_video_scores(), ref, atol=TOL)
    assert int(m.n_frames) == 5 and int(m.n_videos) == 2


def test_batch_size_and_update_split_invariance(extractor):
    videos = _videos()
    whole = CLIPSIM(extractor=extractor, batch_size=64)
    whole.update(videos, PROMPTS)
    split = CLIPSIM(extractor=extractor, batch_size=3)
    split.update(videos[:1], PROMPTS[:1])
    split.update(videos[1:], PROMPTS[1:])
    assert torch.allclose(whole.per_video_scores(), split.per_video_scores(), atol=1e-6)
    assert abs(float(whole.compute()) - float(split.compute())) < 1e-6


def test_scale_100_protocol_and_functional_twin(extractor):
    videos = _videos(2)
    m1 = CLIPSIM("clipsim@vit-b-32", extractor=extractor)
    m100 = CLIPSIM("clipsim100@vit-b-32", extractor=extractor)
    m1.update(videos, PROMPTS[:2])
    m100.update(videos, PROMPTS[:2])
    assert abs(float(m100.compute()) - 100 * float(m1.compute())) < 1e-4
    f = clipsim(videos, PROMPTS[:2], extractor, reduction="none")
    assert torch.allclose(f, m1.per_video_scores(), atol=1e-7)
    assert abs(float(clipsim(videos, PROMPTS[:2], extractor, protocol="clipsim100@vit-b-32"))
               - float(m100.compute())) < 1e-4


def test_no_clamp_at_zero():
    # a negative mean cosine stays negative (torchmetrics CLIPScore would report 0)
    ex = CLIPExtractor.random(seed=0)
    with torch.no_grad():
        ex.model.text_projection.neg_()  # flips every text embedding
    videos = _videos(3)
    pos = _reference(CLIPExtractor.random(seed=0).model, videos, PROMPTS).mean()
    m = CLIPSIM(extractor=ex)
    m.update(videos, PROMPTS)
    assert float(pos) > 0.05
    assert abs(float(m.compute()) + float(pos)) < TOL


def test_truncated_prompts_are_counted(extractor):
    long = "word " * 100
    m = CLIPSIM(extractor=extractor)
    m.update(_videos(3), ["short", long, "x " * 75])  # 75 tokens + SOT + EOT = 77: fits
    assert int(m.n_truncated) == 1
    tokens, flags = extractor.tokenize(["short", long, "x " * 76])
    assert flags == [False, True, True] and tokens.shape == (3, 77)


def test_errors(extractor):
    m = CLIPSIM(extractor=extractor)
    v = _videos(2)
    with pytest.raises(TypeError, match="uint8"):
        m.update(v.float() / 255, PROMPTS[:2])
    with pytest.raises(ValueError, match="2 videos but 3 prompts"):
        m.update(v, PROMPTS)
    with pytest.raises(ValueError, match=r"one video \[T,H,W,3\]"):
        m.update(v[0], PROMPTS[:1])
    with pytest.raises(ValueError, match="protocol"):
        CLIPSIM("reconstruction@vimeo90k-septuplet", extractor=extractor)
    with pytest.raises(RuntimeError, match="before any update"):
        CLIPSIM(extractor=extractor).compute()


def test_real_weights_are_never_downloaded(monkeypatch):
    import urllib.request

    def no_net(*a, **k):
        raise AssertionError("tried to download")

    monkeypatch.setattr(urllib.request, "urlopen", no_net)
    with pytest.raises(weights.WeightsMissing, match="ViT-B-32.pt"):
        CLIPSIM("clipsim@vit-b-32")
    with pytest.raises(weights.WeightsMissing, match="ViT-L-14.pt"):
        clipsim(_videos(1), PROMPTS[:1], protocol="clipsim@vit-l-14")


def test_load_goes_through_weights_and_clip_load(tmp_path, monkeypatch, extractor):
    # OpenAI's files are TorchScript archives; clip.load(jit=False) rebuilds a CLIP from the
    # archive's state_dict. Save the tiny model the same way.
    path = tmp_path / "ViT-B-32.pt"
    example = (torch.zeros(1, 3, 224, 224), clip.tokenize(["a"]))
    torch.jit.save(torch.jit.trace(extractor.model, example, check_trace=False), str(path))
    # A file whose sha256 differs from the published one is refused before loading.
    with pytest.raises(weights.WeightsMismatch):
        CLIPExtractor.load("clipsim@vit-b-32", path=path)
    # With the digest requirement lifted (pinned on first use instead) the file loads through
    # clip.load and gives what the clip package builds from those weights (it rounds linear
    # weights to fp16 in build_model, hence the comparison with build_model, not the original).
    entry = dataclasses.replace(weights.REGISTRY["clip_vit_b32"], sha256=None)
    monkeypatch.setitem(weights.REGISTRY, "clip_vit_b32", entry)
    loaded = CLIPExtractor.load("clipsim@vit-b-32", path=path, device="cpu")
    assert loaded.random_weights is False and loaded.weights_sha256 == weights.sha256_of(path)
    expected = clip.model.build_model(dict(extractor.model.state_dict())).float()
    ref = CLIPExtractor(expected, "ViT-B/32", random_weights=False)
    frames = _videos(1, 2)[0]
    assert torch.equal(loaded.encode_images(frames), ref.encode_images(frames))
    assert torch.allclose(loaded.encode_images(frames), extractor.encode_images(frames), atol=5e-3)
