"""`ffbench run CONFIG.toml --option ...`: command-line options are merged into the file's table
and validated once, like the keys they replace (a run config plus flags used to fail with an
unknown-key error for fields ffbench sets itself)."""
from __future__ import annotations

import pytest
from harness_util import base_config, write_toml

from ffbench.cli import build_parser
from ffbench.commands.run import _config_from_args
from ffbench.errors import ConfigError
from ffbench.harness.config import load_run_config, parse_run_config


def _args(*argv):
    return build_parser().parse_args(["run", *argv])


def test_options_override_the_config_file(tmp_path):
    cfg = base_config(tmp_path / "run", n=12, real={"source": "demo", "seed": 4},
                      model_overrides={"frames": 16})
    toml = write_toml(tmp_path / "run.toml", cfg)
    got = _config_from_args(_args(str(toml), "--n", "3", "--seed", "7", "--real-source", str(tmp_path)))
    assert (got.n, got.seed, got.real.source) == (3, 7, str(tmp_path))
    assert got.real.seed == 4 and got.model_overrides == {"frames": 16}  # the file's other keys stay
    want = parse_run_config({**cfg, "n": 3, "seed": 7, "real": {"source": str(tmp_path), "seed": 4}})
    assert got.hash == want.hash
    assert _config_from_args(_args(str(toml))).hash == load_run_config(toml).hash == \
        parse_run_config(cfg).hash


def test_a_bad_option_is_named_with_the_file(tmp_path):
    toml = write_toml(tmp_path / "run.toml", base_config(tmp_path / "run"))
    with pytest.raises(ConfigError, match=r"run\.toml \+ command-line options.*batch_size"):
        _config_from_args(_args(str(toml), "--batch-size", "0"))


def test_resolution_shrinks_every_i3d_family_to_one_pass_and_changes_their_hashes():
    """`run --tiny` (resolution with random extractors): KVD uses its FVD protocol's smaller
    detector too, so one I3D pass serves both, and neither keeps the registry's hash."""
    from ffbench import protocols as P
    from ffbench.harness.families import feature_key

    cfg = parse_run_config({"model": "fusionframes-tiny", "dataset": "demo", "metrics": ["fvd", "kvd", "clipsim"],
                            "random_extractors": True, "resolution": 32})
    fvd, kvd, clip = cfg.protocols()
    assert feature_key(fvd) == feature_key(kvd) and "32" in feature_key(kvd)
    assert fvd.hash != P.get(fvd.name).hash and kvd.hash != P.get(kvd.name).hash
    assert kvd.fvd() == fvd and clip == P.get("clipsim@vit-b-32")
    assert P.get("kvd@stylegan-v-2048x16").fvd() == P.get("fvd@stylegan-v-2048x16")


def test_evaluate_on_a_run_folder_stores_under_the_run_model_and_dataset(tmp_path):
    """`evaluate` on an ffbench run folder (or its samples/) stores its number under the model and
    dataset the run wrote in model.json / run.json, marked random when the generator was: the
    same leaderboard row as `run`'s number, not a row named after the folder."""
    import json

    import torch
    from harness_util import TINY

    from ffbench.cli import main
    from ffbench.store import ResultsStore
    from ffbench.video import write_video

    run = tmp_path / "ff"
    g = torch.Generator().manual_seed(0)
    for i in range(4):
        v = torch.randint(0, 256, (16, 16, 16, 3), dtype=torch.uint8, generator=g)
        write_video(run / "samples" / f"s{i}.npy", v)
        write_video(tmp_path / "real" / f"r{i}.npy", v.flip(0))
    (run / "model.json").write_text(json.dumps({"model": "fusionframes-tiny", "random_weights": True}))
    (run / "run.json").write_text(json.dumps({"run_id": "x", "config": {"dataset": "demo"}}))
    db = tmp_path / "r.db"
    common = ["--real", str(tmp_path / "real"), "--random-weights", "--batch-size", "2", "--db", str(db),
              "--quiet", *[f"--extractor={k}={v}" for k, v in TINY.items()]]
    for fake in (run, run / "samples"):
        assert main(["evaluate", "fvd", "--fake", str(fake), *common]) == 0
    assert main(["evaluate", "fvd", "--fake", str(run / "samples"), "--model", "mine", "--dataset", "d",
                 *common]) == 0
    runs = ResultsStore(db, read_only=True).runs()
    got = sorted(zip(runs["model"], runs["dataset"], runs["random_weights"].astype(bool)))
    assert got == [("fusionframes-tiny", "demo", True)] * 2 + [("mine", "d", True)]
    # the generator's flag itself (not only the random extractors'): from model.json
    assert all(json.loads(c)["random_weights"] is True for c in runs["config_json"])
    plain = tmp_path / "plain"
    plain.mkdir()
    for p in (run / "samples").iterdir():
        (plain / p.name).write_bytes(p.read_bytes())
    assert main(["evaluate", "fvd", "--fake", str(plain), *common]) == 0
    row = ResultsStore(db, read_only=True).runs().iloc[-1]
    assert (row["model"], row["dataset"], json.loads(row["config_json"])["random_weights"]) == \
        ("plain", "custom", False)
