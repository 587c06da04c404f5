"""Tiny deterministic stand-ins for the harness tests (importable by subprocesses via
PYTHONPATH=tests/harness): a generator whose video is a function of (prompt, seed), a failing
one, and a tiny video feature extractor marked random_weights."""
from __future__ import annotations

import hashlib
from types import SimpleNamespace

import torch

FRAMES, SIZE = 16, 16


class FakeGenerator:
    kind = "fake"
    random_weights = True

    def __init__(self, frames=FRAMES, height=SIZE, width=SIZE, name="fake-gen"):
        self.name = name
        self.video = SimpleNamespace(frames=frames, height=height, width=width, fps=8.0)
        self.calls = 0

    def metadata(self):
        return {"model": self.name, "kind": self.kind, "random_weights": True,
                "interpolation": "fusionframes"}

    def one(self, prompt: str, seed: int) -> torch.Tensor:
        # the prompt matters too (CLIPSIM), through a hash mixed into the seed
        h = int.from_bytes(hashlib.sha256(prompt.encode("utf-8", "surrogatepass")).digest()[:4], "little")
        g = torch.Generator().manual_seed((seed ^ h) % (2 ** 63))
        v = self.video
        return torch.randint(0, 256, (v.frames, v.height, v.width, 3), generator=g, dtype=torch.uint8)

    def generate(self, prompts, seeds):
        self.calls += 1
        return [self.one(p, s) for p, s in zip(prompts, seeds)]


def failure_kind(seed: int) -> str | None:
    """Which samples the failing generator breaks (a function of the seed only)."""
    return {0: "raise", 1: "nan", 2: "shape", 3: "dtype"}.get(seed % 9)


class FailingGenerator(FakeGenerator):
    """Breaks the samples whose seed is in `kinds` ({seed: kind}); without `kinds`, the
    samples `failure_kind` picks."""

    def __init__(self, kinds=None, **kw):
        super().__init__(**kw)
        self.kinds = kinds

    def generate(self, prompts, seeds):
        out = []
        for p, s in zip(prompts, seeds):
            kind = failure_kind(s) if self.kinds is None else self.kinds.get(s)
            if kind == "raise":
                raise RuntimeError(f"boom for seed {s}")
            v = self.one(p, s)
            if kind == "nan":
                v = v.float()
                v[0, 0, 0, 0] = float("nan")
            elif kind == "shape":
                v = v[:, :-1]
            elif kind == "dtype":
                v = v.to(torch.int16)
            out.append(v)
        return out


def make(random_weights=None, device=None, **overrides):
    return FakeGenerator(**overrides)


def make_failing(random_weights=None, device=None, **overrides):
    return FailingGenerator(**overrides)


class TinyVideoExtractor:
    """uint8 [N,T,H,W,3] -> [N, D]: pooled pixels through a fixed random projection."""

    random_weights = True
    weights_sha256 = None

    def __init__(self, name: str, dim: int, probs: bool, seed: int = 0):
        self.name, self.feature_dim, self.probs = name, dim, probs
        g = torch.Generator().manual_seed(seed)
        self.w = torch.randn(2 * 4 * 4 * 3, dim, generator=g, dtype=torch.float64)

    def describe(self):
        return {"extractor": self.name, "feature_dim": self.feature_dim, "random_weights": True,
                "weights_sha256": None}

    def __call__(self, videos: torch.Tensor) -> torch.Tensor:
        assert videos.dtype == torch.uint8 and videos.ndim == 5
        x = videos.permute(0, 4, 1, 2, 3).double() / 255.0  # N,3,T,H,W
        x = torch.nn.functional.adaptive_avg_pool3d(x, (2, 4, 4)).flatten(1)
        y = (x - 0.5) @ self.w
        return torch.softmax(y, 1).float() if self.probs else y.float()


def tiny_extractor(protocol, random_seed=None, device=None):
    is_probs = protocol.metric == "is"
    return TinyVideoExtractor(protocol.extractor, 10 if is_probs else 6, is_probs)
