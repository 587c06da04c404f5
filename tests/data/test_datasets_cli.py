import json

import pytest

from ffbench.data import load_prompts


@pytest.mark.parametrize("sub", [[], ["list"], ["show"], ["prompts"], ["manifest"], ["demo"]])
def test_help(cli, sub):
    r = cli("datasets", *sub, "--help")
    assert r.returncode == 0 and "usage: ffbench datasets" in r.stdout


def test_list_and_show(cli, tmp_path, fx):
    r = cli("datasets", "list", "--json", check=True)
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert {"ucf101", "msrvtt", "demo"} <= set(rows) and rows["msrvtt"]["default_n"] == 2990
    r = cli("datasets", "show", "ucf101", check=True)
    assert "101 (first: 'a person applying eye makeup')" in r.stdout
    fx.write_ucf_splits(tmp_path)
    fx.write_ucf_videos(tmp_path, frames=2)
    r = cli("datasets", "show", "ucf101", "--root", tmp_path, "--json", check=True)
    avail = json.loads(r.stdout)["available"]
    assert avail["classes"] == 5 and avail["videos_found"] == 15 and avail["videos_missing"] == 0
    r = cli("datasets", "show", "kinetics")
    assert r.returncode == 2 and "unknown dataset 'kinetics'" in r.stderr


def test_prompts(cli, tmp_path, fx):
    r = cli("datasets", "prompts", "ucf101", "--n", "16", "--seed", "0", "--json",
            "--out", tmp_path / "p.json", check=True)
    data = json.loads(r.stdout)
    ref = load_prompts("ucf101", n=16, seed=0)
    assert [i["prompt"] for i in data["items"]] == list(ref.prompts)
    assert data["content_hash"] == ref.content_hash and data["seed"] == 0
    assert json.loads((tmp_path / "p.json").read_text())["content_hash"] == ref.content_hash
    r = cli("datasets", "prompts", "ucf101", "--n", "3", check=True)
    assert "ucf101-00002" in r.stdout and "seed=0" in r.stdout
    r = cli("datasets", "prompts", "msrvtt", env={"FFBENCH_MSRVTT_ROOT": ""})
    assert r.returncode == 2 and "--root" in r.stderr and "Traceback" not in r.stderr
    fx.write_msrvtt(tmp_path / "m", n_test=5, n_caps=2)
    r = cli("datasets", "prompts", "msrvtt", "--root", tmp_path / "m", "--n", "3", "--json", check=True)
    assert len(json.loads(r.stdout)["items"]) == 3


def test_manifest_and_demo(cli, tmp_path):
    r = cli("datasets", "demo", "--out", tmp_path / "d", "--format", "npy", "--count", "3", check=True)
    assert "wrote 3 demo videos" in r.stdout
    (tmp_path / "d" / "z_bad.mp4").write_bytes(b"junk")
    # one subprocess for both outputs: each start imports torch, which is slow on a busy machine
    r = cli("datasets", "manifest", tmp_path / "d", "--json", "--out", tmp_path / "m.json")
    assert r.returncode == 1  # an unreadable file is an error exit, and is listed
    m = json.loads(r.stdout)
    assert m["num_files"] == 4 and [e["frames"] for e in m["entries"]] == [16, 16, 24, None]
    assert m["entries"][3]["error"] and len(m["hash"]) == 64
    assert json.loads((tmp_path / "m.json").read_text())["hash"] == m["hash"]
