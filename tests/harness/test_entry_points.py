"""One number per protocol hash, whatever command produced it (the one-engine acceptance test).

For every metric family with generated videos (fvd, is, clipsim, kvd, fid, kid, jedi):
`ffbench run`, `run` in 2 shards + `--merge`, `torchrun --nproc_per_node 2 -m ffbench.cli run`,
`ffbench evaluate` on the run's samples folder (which holds each sample as ID.npy *and* ID.mp4:
one sample, the exact .npy), and `stats compute` then `evaluate` (reading the cache it filled, or
the statistics file it wrote) give bit-identical values and the same protocol hash. The real side is, in turn, a folder with class sub-folders (UCF-101
layout) and the embedded demo set by its dataset name. (Reconstruction scores pairs, not a
generated set: its two entry points are tested in tests/harness/test_reconstruction*.py.)
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import torch
from harness_util import REPO, TINY, base_config, env, in_process, load_results, write_toml

from ffbench.cli import main
from ffbench.harness import parse_run_config, run
from ffbench.video import write_video

EXTRACTORS = [f"--extractor={k}={v}" for k, v in TINY.items()]
COMMON = ["--random-weights", "--batch-size", "4", "--no-store", "--json", "--quiet", *EXTRACTORS]


@pytest.fixture(scope="module")
def real_dir(tmp_path_factory):
    """Real videos in class sub-folders, one too short for the protocol (skipped and named)."""
    root = tmp_path_factory.mktemp("ucf_like")
    g = torch.Generator().manual_seed(5)
    for cls in ("ApplyEyeMakeup", "Biking"):
        for i in range(3):
            v = torch.randint(0, 256, (20 + i, 16, 16, 3), dtype=torch.uint8, generator=g)
            write_video(root / cls / f"v_{cls}_g0{i}_c01.npy", v)
    write_video(root / "Biking" / "v_short.npy", torch.zeros(8, 16, 16, 3, dtype=torch.uint8))
    return root


def _cli_json(capsys, argv) -> dict:
    code = main(argv)
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def _score(results: dict, protocol: str) -> dict:
    (s,) = [s for s in results["scores"] if s["protocol"] == protocol]
    return s


FAMILIES = {"fvd": "fvd@stylegan-v-2048x16", "is": "is@c3d-ucf101", "clipsim": "clipsim@vit-b-32",
            "kvd": "kvd@stylegan-v-2048x16", "fid": "fid@clean-frames-16",
            "kid": "kid@clean-frames-16", "jedi": "jedi@vjepa2-vitl-ssv2"}


@pytest.mark.filterwarnings("ignore::UserWarning")  # N below the protocol's / the feature dim
@pytest.mark.parametrize("source", ["class-folders", "demo"])
def test_every_entry_point_gives_the_same_number(tmp_path, real_dir, capsys, isolated_home, source):
    from ffbench.harness.families import FAMILIES as REGISTRY

    assert set(FAMILIES) == set(REGISTRY), "a new family joins this test"
    metrics = list(FAMILIES.values())
    real = str(real_dir) if source == "class-folders" else "demo"
    n_real = 6 if source == "class-folders" else 16
    cfg = base_config(tmp_path / "single", n=12, metrics=metrics, real={"source": real})
    single = in_process(cfg)
    assert single["n_samples"] == 12

    # 2 shards + merge
    shard_cfg = parse_run_config(base_config(tmp_path / "sharded", n=12, metrics=metrics,
                                             real={"source": real}))
    run(shard_cfg, shard="0/2", quiet=True)
    run(shard_cfg, shard="1/2", quiet=True)
    merged = run(shard_cfg, merge=True, quiet=True)

    # torchrun, 2 ranks (CPU, gloo)
    ddp_cfg = base_config(tmp_path / "ddp", n=12, metrics=metrics, real={"source": real})
    toml = write_toml(tmp_path / "ddp.toml", ddp_cfg)
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                           "--standalone", "-m", "ffbench.cli", "run", str(toml), "--quiet"],
                          capture_output=True, text=True, env=env(), cwd=str(REPO), timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    ddp = load_results(ddp_cfg["out"])

    # the run's samples folder, evaluated as it is (ID.npy + ID.mp4 + ID.json per sample)
    samples = tmp_path / "single" / "samples"
    assert len(list(samples.glob("*.mp4"))) == 12 and len(list(samples.glob("*.npy"))) == 12
    evaluated = {m: [_cli_json(capsys, ["evaluate", m, "--protocol", FAMILIES[m], "--fake", str(samples),
                                        "--real", real, *COMMON])] for m in ("fvd", "kvd", "fid", "kid", "jedi")}
    evaluated["is"] = [_cli_json(capsys, ["evaluate", "is", "--fake", str(samples), *COMMON])]
    prompts = tmp_path / "prompts.json"
    plan = [json.loads(line) for line in (tmp_path / "single" / "plan.jsonl").read_text().splitlines()]
    prompts.write_text(json.dumps({d["sample_id"]: d["prompt"] for d in plan}))
    evaluated["clipsim"] = [_cli_json(capsys, ["evaluate", "clipsim", "--videos", str(samples),
                                               "--prompts", str(prompts), *COMMON])]
    # stats compute fills the cache that evaluate (and run) read, with a fresh cache
    shutil.rmtree(isolated_home / "stats", ignore_errors=True)
    stats_file = tmp_path / "real-stats.npz"
    stats = _cli_json(capsys, ["stats", "compute", "--real", real, "--random-weights", "--out",
                               str(stats_file), "--batch-size", "4", "--json", "--quiet", *EXTRACTORS])
    assert stats["n"] == n_real
    # ... and its statistics file is the same real side when given instead of the videos
    for real_side in (real, str(stats_file)):
        evaluated["fvd"].append(_cli_json(capsys, ["evaluate", "fvd", "--fake", str(samples),
                                                   "--real", real_side, *COMMON]))

    for metric, proto in FAMILIES.items():
        ref = _score(single, proto)
        assert ref["value"] is not None, ref
        for other in [_score(merged, proto), _score(ddp, proto), *evaluated[metric]]:
            assert other["value"] == ref["value"], (proto, other)  # bit-identical
            assert other["protocol_hash"] == ref["protocol_hash"]
            assert other.get("n", other.get("n_fake")) == 12
    # the short real video is skipped and named wherever the real set is read
    real_set = _score(single, "fvd@stylegan-v-2048x16")["extra"]["real_set"]
    assert real_set["used"] == n_real
    if source == "class-folders":
        assert [r[0] for r in real_set["short_files"]] == ["Biking/v_short.npy"]
        assert evaluated["fvd"][0]["real_set"]["short_files"][0][0] == "Biking/v_short.npy"


def test_folder_skips_are_counted_and_named(tmp_path, real_dir, capsys):
    """Short fake videos are not silently dropped: counted, named, in text and JSON."""
    fake = tmp_path / "fake"
    g = torch.Generator().manual_seed(1)
    for i, frames in enumerate((16, 16, 12, 12)):
        write_video(fake / f"f{i}.npy", torch.randint(0, 256, (frames, 16, 16, 3), dtype=torch.uint8,
                                                       generator=g))
    r = _cli_json(capsys, ["evaluate", "fvd", "--fake", str(fake), "--real", str(real_dir), *COMMON])
    assert r["n_fake"] == 2 and r["value"] is not None
    assert sorted(s["video"] for s in r["skipped"]) == ["f2.npy", "f3.npy"]
    assert all("too short: 12 frames < 16" in s["reason"] for s in r["skipped"])
    argv = ["evaluate", "fvd", "--fake", str(fake), "--real", str(real_dir), *COMMON]
    argv.remove("--json")
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "skipped 2 input(s)" in err and "f2.npy" in err and "f3.npy" in err
