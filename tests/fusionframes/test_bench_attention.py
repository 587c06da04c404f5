"""Our SDPA attention vs the release's einsum/softmax formulation, same inputs, same weights.

The reference (video_kandinsky3/model/nn.py Attention.forward) builds the full score matrix with
einsum, masked_fill(-finfo.max), softmax and a second einsum; ours calls
torch.nn.functional.scaled_dot_product_attention (fused kernels where available).
"""
from __future__ import annotations


import torch

from bench_timing import best_of
from ffbench.fusionframes.blocks import Attention



def reference_forward(att: Attention, x, context, mask):
    h = att.num_heads

    def heads(y):
        return y.view(y.shape[0], y.shape[1], h, -1).permute(0, 2, 1, 3)

    q, k, v = heads(att.to_query(x)), heads(att.to_key(context)), heads(att.to_value(context))
    scores = torch.einsum("bhid,bhjd->bhij", q, k) * q.shape[-1] ** -0.5
    scores = scores.masked_fill(~mask[:, None, None, :], -torch.finfo(scores.dtype).max)
    out = torch.einsum("bhij,bhjd->bhid", scores.softmax(dim=-1), v)
    return att.output_layer(out.permute(0, 2, 1, 3).reshape(x.shape[0], x.shape[1], -1))


@torch.no_grad()
def test_bench_sdpa_vs_reference_attention(benchmark):
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    # a level-1 cross-attention of the full model at 1/4 width: 32x32 latents -> 16x16 = 256 queries,
    # 128 text tokens, 4 heads of 64
    att = Attention(256, 256, 512, head_dim=64).to(device)
    x = torch.randn(4, 256, 256, device=device)
    ctx = torch.randn(4, 128, 512, device=device)
    mask = torch.zeros(4, 128, dtype=torch.bool, device=device)
    mask[:, :20] = True

    ours = att(x, ctx, mask)
    ref = reference_forward(att, x, ctx, mask)
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-5)

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    t_ref = best_of(lambda: (reference_forward(att, x, ctx, mask), sync()))
    t_ours = best_of(lambda: (att(x, ctx, mask), sync()))
    benchmark(lambda: (att(x, ctx, mask), sync()))
    benchmark.extra_info.update({
        "device": device,
        "ours_s": t_ours,
        "reference_s": t_ref,
        "speedup_reference_over_ours": t_ref / t_ours,
        "max_abs_diff": float((ours - ref).abs().max()),
    })
    print(f"\nattention {device}: ours {t_ours * 1e3:.2f} ms, reference {t_ref * 1e3:.2f} ms, "
          f"ratio {t_ref / t_ours:.2f}x")
    assert t_ours > 0 and t_ref > 0
