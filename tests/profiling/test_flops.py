"""FLOP counting (ffbench/profiling/flops.py) against analytic counts."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ffbench.profiling.flops import count_flops, sdpa_flops, top_modules
from ffbench.profiling.memory import memory_summary


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_conv2d(device):
    conv = nn.Conv2d(8, 16, 3, padding=1, device=device)
    x = torch.zeros(2, 8, 10, 12, device=device)
    # 2 FLOPs per multiply-add: per output element Cin * k * k multiply-adds
    assert count_flops(lambda: conv(x)).flops == 2 * (2 * 16 * 10 * 12) * (8 * 3 * 3)


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_linear(device):
    lin = nn.Linear(64, 32, device=device)
    x = torch.zeros(5, 7, 64, device=device)
    assert count_flops(lambda: lin(x)).flops == 2 * 5 * 7 * 64 * 32


@pytest.mark.parametrize("device", ["meta", "cpu"])
@pytest.mark.parametrize("masked", [False, True])
def test_attention(device, masked):
    b, h, lq, lk, d = 2, 4, 33, 17, 16
    q = torch.zeros(b, h, lq, d, device=device)
    k = torch.zeros(b, h, lk, d, device=device)
    v = torch.zeros(b, h, lk, d, device=device)
    mask = torch.ones(b, 1, lq, lk, dtype=torch.bool, device=device) if masked else None
    flops = count_flops(lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask)).flops
    assert flops == sdpa_flops(b, h, lq, lk, d) == 4 * b * h * lq * lk * d


def test_module_breakdown_and_top():
    net = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 8)).to("meta")
    p = count_flops(lambda: net(torch.zeros(3, 16, device="meta")), depth=2)
    assert p.by_module["Sequential.0"] == 2 * 3 * 16 * 64
    assert p.by_module["Sequential.2"] == 2 * 3 * 64 * 8
    assert p.top(1, depth=2) == [("Sequential.0", 2 * 3 * 16 * 64)]
    assert top_modules({"A": 5, "A.x": 3, "A.y": 2}, n=5, depth=2) == [("A.x", 3), ("A.y", 2)]


def test_activation_estimate_counts_live_outputs():
    x = torch.zeros(4, 1000, device="meta")

    def f():
        a = x * 2  # 16 kB live
        b = a + 1  # 32 kB live at peak
        del a
        return b + 1

    p = count_flops(f)
    assert p.activation_bytes == 2 * 4 * 1000 * 4


def test_memory_summary():
    lin = nn.Linear(10, 3, device="meta")
    m = memory_summary(lin)
    assert m["params"] == 33
    assert (m["weights_bytes_fp32"], m["weights_bytes_fp16"], m["weights_bytes_bf16"]) == (132, 66, 66)
