"""Building blocks against direct re-statements of the reference formulas."""
from __future__ import annotations

import math

import torch

from ffbench.fusionframes.blocks import (Attention, ConditionalGroupNorm, SinusoidalPosEmb,
                                         masked_attention)
from ffbench.fusionframes.temporal import TemporalAttention



def reference_attention(q, k, v, mask=None):
    """The release's formulation (video_kandinsky3/model/nn.py Attention): einsum scores * d^-0.5,
    masked_fill(~mask, -finfo.max), softmax, einsum with values."""
    scores = torch.einsum("bhid,bhjd->bhij", q, k) * q.shape[-1] ** -0.5
    if mask is not None:
        scores = scores.masked_fill(~mask[:, None, None, :], -torch.finfo(scores.dtype).max)
    return torch.einsum("bhij,bhjd->bhid", scores.softmax(-1), v)


def test_masked_attention_matches_reference_including_fully_masked_rows():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(3, 2, 5, 8, generator=g) for _ in range(3))
    mask = torch.tensor([[1, 1, 0, 0, 1, 0, 0], [1, 0, 0, 0, 0, 0, 0], [0] * 7], dtype=torch.bool)
    k, v = torch.randn(3, 2, 7, 8, generator=g), torch.randn(3, 2, 7, 8, generator=g)
    ours = masked_attention(q, k, v, mask)
    torch.testing.assert_close(ours, reference_attention(q, k, v, mask), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ours[2], v[2].mean(-2, keepdim=True).expand(2, 5, 8))  # uniform row
    torch.testing.assert_close(masked_attention(q, k, v), reference_attention(q, k, v), rtol=1e-5, atol=1e-6)


def test_attention_module_heads_and_masked_keys():
    torch.manual_seed(0)
    att = Attention(16, 32, 12, head_dim=8)
    x, ctx = torch.randn(2, 10, 16), torch.randn(2, 6, 12)
    mask = torch.tensor([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1]], dtype=torch.bool)
    out = att(x, ctx, mask)
    q = att.to_query(x).view(2, 10, 4, 8).transpose(1, 2)
    k = att.to_key(ctx).view(2, 6, 4, 8).transpose(1, 2)
    v = att.to_value(ctx).view(2, 6, 4, 8).transpose(1, 2)
    ref = att.output_layer(reference_attention(q, k, v, mask).transpose(1, 2).reshape(2, 10, 32))
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
    ctx2 = ctx.clone()
    ctx2[0, 3:] = 100.0  # masked keys do not matter
    torch.testing.assert_close(att(x, ctx2, mask)[0], out[0])


def test_sinusoidal_embedding_formula():
    emb = SinusoidalPosEmb(8)(torch.tensor([0.0, 3.0]))
    half = 4
    freqs = [math.exp(-math.log(10000) * j / (half - 1)) for j in range(half)]
    expected = [[math.sin(t * f) for f in freqs] + [math.cos(t * f) for f in freqs] for t in (0.0, 3.0)]
    torch.testing.assert_close(emb, torch.tensor(expected))


def test_conditional_group_norm_starts_as_plain_group_norm():
    norm = ConditionalGroupNorm(4, 16, 10)
    x, cond = torch.randn(3, 16, 5, 5), torch.randn(3, 10)
    torch.testing.assert_close(norm(x, cond), torch.nn.functional.group_norm(x, 4))
    torch.nn.init.normal_(norm.context_mlp[1].weight)
    assert not torch.allclose(norm(x, cond), torch.nn.functional.group_norm(x, 4))


def test_temporal_attention_1d_and_3d_windows_against_direct_loops():
    torch.manual_seed(0)
    t, c, h, w = 3, 16, 3, 4
    x = torch.randn(2 * t, c, h, w)
    for window in (1, 2):
        att = TemporalAttention(c, head_dim=8, window=window)
        torch.nn.init.normal_(att.output_layer.weight)
        out = att(x, t)
        vid = x.view(2, t, c, h, w)
        ref = torch.empty_like(vid)
        for b in range(2):
            for i0 in range(0, h, window):
                for j0 in range(0, w, window):
                    blk = vid[b, :, :, i0:i0 + window, j0:j0 + window]  # t c wh ww (clipped at edges)
                    tok = blk.permute(0, 2, 3, 1).reshape(-1, c)
                    q = att.to_query(tok).view(-1, 2, 8).transpose(0, 1)
                    k = att.to_key(tok).view(-1, 2, 8).transpose(0, 1)
                    v = att.to_value(tok).view(-1, 2, 8).transpose(0, 1)
                    o = att.output_layer(reference_attention(q[None], k[None], v[None])[0].transpose(0, 1).reshape(-1, c))
                    ref[b, :, :, i0:i0 + window, j0:j0 + window] = o.view(t, blk.shape[2], blk.shape[3], c).permute(0, 3, 1, 2)
        torch.testing.assert_close(out, ref.view(2 * t, c, h, w), rtol=1e-4, atol=1e-5)
