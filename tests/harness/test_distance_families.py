"""The newer distances as engine families: KVD (sharing FVD's I3D pass), frame FID/KID through
clean-fid, JEDi-style MMD. `ffbench run` and `ffbench evaluate <metric>` on the run's samples give
the same number and hash, and the number is the metric module's own function of the stored
features (so the engine adds no arithmetic of its own)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from harness_util import TINY, base_config, in_process

from ffbench import protocols as P
from ffbench.cli import main
from ffbench.video import write_video

METRICS = ["fvd@stylegan-v-2048x16", "kvd@stylegan-v-2048x16", "fid@clean-frames-16",
           "jedi@vjepa2-vitl-ssv2"]
EXTRACTORS = [f"--extractor={k}={v}" for k, v in TINY.items()]


@pytest.fixture(scope="module")
def real_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    g = torch.Generator().manual_seed(9)
    for cls in ("A", "B"):
        for i in range(3):
            write_video(root / cls / f"v{i}.npy",
                        torch.randint(0, 256, (20, 16, 16, 3), dtype=torch.uint8, generator=g))
    return root


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_run_and_evaluate_agree_for_every_new_family(tmp_path, real_dir, capsys):
    cfg = base_config(tmp_path / "run", n=6, metrics=METRICS, real={"source": str(real_dir)})
    res = in_process(cfg)
    scores = {s["protocol"]: s for s in res["scores"]}
    assert all(s["value"] is not None and np.isfinite(s["value"]) for s in scores.values()), scores
    # KVD reuses FVD's I3D features: one feature folder for both
    keys = sorted(p.name for p in (tmp_path / "run" / "features").iterdir() if p.is_dir())
    assert len([k for k in keys if k.startswith("i3d")]) == 1, keys
    # the value is the metric module's function of the stored features
    from ffbench.harness.config import parse_run_config
    from ffbench.harness.evaluate import real_side_for
    from ffbench.harness.features import feature_specs
    from ffbench.metrics import kernel

    sids = [json.loads(line)["sample_id"] for line in (tmp_path / "run" / "plan.jsonl").read_text().splitlines()]
    i3d = next(k for k in keys if k.startswith("i3d"))
    fake = np.stack([np.load(tmp_path / "run" / "features" / i3d / f"{s}.npy") for s in sids])
    kvd = P.get("kvd@stylegan-v-2048x16")
    real = real_side_for(None, parse_run_config(cfg), feature_specs([kvd])[0], kvd, progress=False)
    assert real["n_videos"] == 6
    assert kernel.score(real["features"], fake, "kvd@stylegan-v-2048x16")["value"] == \
        scores["kvd@stylegan-v-2048x16"]["value"]
    # every front door gives the same number and hash
    samples = tmp_path / "run" / "samples"
    for metric, proto in (("kvd", "kvd@stylegan-v-2048x16"), ("fid", "fid@clean-frames-16"),
                          ("jedi", "jedi@vjepa2-vitl-ssv2")):
        argv = ["evaluate", metric, "--protocol", proto, "--fake", str(samples), "--real", str(real_dir),
                "--random-weights", "--batch-size", "4", "--no-store", "--json", "--quiet", *EXTRACTORS]
        assert main(argv) == 0
        got = json.loads(capsys.readouterr().out)
        assert got["value"] == scores[proto]["value"], proto
        assert got["protocol_hash"] == scores[proto]["protocol_hash"] == P.get(proto).hash


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("n,m,d", [(40, 60, 64), (300, 200, 32)])  # rank-deficient and full rank
def test_closed_form_frechet_of_bootstrap_resamples_equals_clean_fid(n, m, d):
    """Frame-FID resamples use tr sqrt(Σx Σy) = Σ singular values of A Bᵀ (n x m), not a D² sqrtm:
    equal to clean-fid's frechet_distance on np.cov statistics."""
    from cleanfid.fid import frechet_distance

    from ffbench.harness.families import frechet_from_features

    x = np.random.default_rng(0).standard_normal((n, d))
    y = np.random.default_rng(1).standard_normal((m, d)) * 1.3 + 0.1
    ref = frechet_distance(x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))
    assert frechet_from_features(x, y) == pytest.approx(ref, rel=1e-7)


@pytest.mark.parametrize("metric", ["kvd@stylegan-v-2048x16", "fid@clean-frames-16", "jedi@vjepa2-vitl-ssv2"])
def test_every_family_with_real_videos_checks_its_real_side_before_the_run(tmp_path, metric):
    """Not only FVD: a family that needs real videos refuses a missing real folder, and a family
    that needs real *features* refuses a statistics file, before run.json is written."""
    from ffbench.errors import ConfigError
    from ffbench.metrics.stats import GaussianStats

    out = tmp_path / "run"
    with pytest.raises(ConfigError, match="no-such-folder"):
        in_process(base_config(out, n=4, metrics=[metric], real={"source": str(tmp_path / "no-such-folder")}))
    stats = GaussianStats.from_features(np.random.default_rng(0).standard_normal((8, 4))).save(tmp_path / "r.npz")
    with pytest.raises(ConfigError, match=f"{metric}.*need the real videos' features"):
        in_process(base_config(out, n=4, metrics=[metric], real={"stats": str(stats)}))
    assert not (out / "run.json").exists()
