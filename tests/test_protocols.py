import json
import subprocess
import sys

import pytest

from ffbench import protocols as P


def test_hashes_distinct_and_hex():
    hashes = [p.hash for p in P.PROTOCOLS.values()]
    assert len(set(hashes)) == len(hashes)
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in hashes)


def test_hash_stable_across_processes():
    code = "import json, ffbench.protocols as P; print(json.dumps({n: p.hash for n, p in P.PROTOCOLS.items()}))"
    outs = [json.loads(subprocess.check_output([sys.executable, "-c", code], text=True,
                                               env={"PYTHONHASHSEED": str(seed), "PATH": ""}))
            for seed in (1, 2)]
    assert outs[0] == outs[1] == {n: p.hash for n, p in P.PROTOCOLS.items()}


def test_hash_ignores_documentation_but_not_constants():
    import dataclasses

    p = P.get("fvd@stylegan-v-2048x16")
    assert dataclasses.replace(p, description="other words").hash == p.hash
    assert dataclasses.replace(p, covariance="unbiased").hash != p.hash
    assert dataclasses.replace(p, num_fake=2047).hash != p.hash


def test_protocol_constants_match_references():
    sg = P.get("fvd@stylegan-v-2048x16")
    assert (sg.num_real, sg.num_fake, sg.num_frames, sg.covariance, sg.sqrtm) == (2048, 2048, 16, "biased", "scipy-sqrtm")
    assert P.get("fvd@stylegan-v-2048x128").num_frames == 128
    vg = P.get("fvd@videogpt")
    assert (vg.num_fake, vg.covariance, vg.sqrtm, vg.resize) == (256, "unbiased", "tfgan", "short-side-crop")
    assert P.get("fvd@cd-fvd-i3d").resize == "direct"
    is_ = P.get("is@c3d-ucf101")
    assert (is_.num_samples, is_.num_frames, is_.splits, is_.shuffle_seed) == (2048, 16, 10, 42)
    assert P.get("clipsim100@vit-b-32").scale == 100 and P.get("clipsim@vit-b-32").backbone == "ViT-B/32"
    rec = P.get("reconstruction@vimeo90k-septuplet")
    assert (rec.ssim_kernel_size, rec.ssim_sigma, rec.ssim_k1, rec.ssim_k2) == (11, 1.5, 0.01, 0.03)


def test_unknown_protocol_error_lists_known():
    with pytest.raises(P.ProtocolError, match="fvd@stylegan-v-2048x16"):
        P.get("fvd@nope")
