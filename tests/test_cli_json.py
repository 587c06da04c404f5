"""One JSON convention and one error style for every command (issue 22; commands/_util.py)."""
from __future__ import annotations

import json
import math
import os
import stat

import numpy as np
import pytest
import torch

from ffbench.cli import build_parser, main
from ffbench.commands._util import error_object, json_dumps, records


def test_to_jsonable_numbers_stay_numbers_and_nonfinite_is_null_plus_sibling():
    data = {"psnr": float("inf"), "low": -math.inf, "bad": float("nan"), "ok": np.float32(0.5),
            "n": np.int64(3), "t": torch.tensor(2.5), "flag": np.bool_(True),
            "arr": np.array([1, 2]), "nested": [{"v": float("inf")}], "inlist": [1.0, float("nan")]}
    out = json.loads(json_dumps(data))
    assert out["psnr"] is None and out["psnr_nonfinite"] == "inf"
    assert out["low"] is None and out["low_nonfinite"] == "-inf"
    assert out["bad"] is None and out["bad_nonfinite"] == "nan"
    assert out["ok"] == 0.5 and isinstance(out["ok"], float)
    assert out["n"] == 3 and isinstance(out["n"], int) and out["t"] == 2.5 and out["flag"] is True
    assert out["arr"] == [1, 2] and out["nested"] == [{"v": None, "v_nonfinite": "inf"}]
    assert out["inlist"] == [1.0, None]
    assert "Infinity" not in json_dumps(data) and "NaN" not in json_dumps(data)  # strict JSON


def test_records_missing_cells_are_null_without_sibling():
    import pandas as pd

    df = pd.DataFrame({"value": [1.5, float("nan"), float("inf")], "model": ["a", None, "c"]})
    rows = json.loads(json_dumps(records(df)))
    assert rows[0] == {"value": 1.5, "model": "a"}
    assert rows[1] == {"value": None, "model": None}
    assert rows[2] == {"value": None, "value_nonfinite": "inf", "model": "c"}


def test_error_object_shape():
    from ffbench.errors import ConfigError

    assert error_object(ConfigError("x.toml: bad")) == {
        "error": {"type": "ConfigError", "message": "x.toml: bad"}}


def test_errors_in_json_mode_are_json_on_stdout(capsys):
    rc = main(["models", "show", "no-such-model", "--json"])
    out, err = capsys.readouterr()
    assert rc == 2
    obj = json.loads(out)
    assert obj["error"]["type"] == "ModelNotFound" and "no-such-model" in obj["error"]["message"]
    assert err.startswith("ffbench: error: unknown model 'no-such-model'")


def test_errors_without_json_are_one_prefixed_line(capsys):
    rc = main(["protocols", "show", "fvd@nope"])
    out, err = capsys.readouterr()
    assert rc == 2 and out == "" and err.startswith("ffbench: error:")


def test_every_command_has_quiet_and_the_owned_ones_json():
    parser = build_parser()
    leaves = {}

    def walk(p, path):
        subs = [a for a in p._actions if a.__class__.__name__ == "_SubParsersAction"]
        if not subs:
            leaves[" ".join(path)] = {o for a in p._actions for o in a.option_strings}
        for a in subs:
            for name, child in a.choices.items():
                walk(child, path + [name])

    walk(parser, [])
    assert len(leaves) > 15
    for name, opts in leaves.items():
        assert "--quiet" in opts, name
    for name in ("leaderboard", "protocols list", "protocols show", "models list", "models show",
                 "video info", "weights list", "report", "profile", "datasets list"):
        assert "--json" in leaves[name], name


def test_protocols_list_json_has_full_hashes(capsys):
    from ffbench.protocols import PROTOCOLS

    assert main(["protocols", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    for r in rows:
        assert r["hash"] == PROTOCOLS[r["name"]].hash and len(r["hash"]) == 64


def test_leaderboard_json_flag_and_escaped_markdown(tmp_path, capsys):
    from ffbench.protocols import get
    from ffbench.store import ResultsStore, RunRecord, ScoreRecord

    db = tmp_path / "r.db"
    store = ResultsStore(db)
    store.add_run(RunRecord(run_id="r1", model="<script>alert(1)</script>|x", dataset="demo",
                            n_samples=2, random_weights=True, created_at="2026-01-01T00:00:00"),
                  [ScoreRecord(metric="fvd", protocol="fvd@videogpt", protocol_hash=get("fvd@videogpt").hash,
                               value=812.5, n=2, weights_sha256="random-seed-0")])
    assert main(["leaderboard", "--db", str(db), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["model"] == "<script>alert(1)</script>|x"  # JSON keeps the text as is
    assert rows[0]["fvd@videogpt"] == 812.5 and rows[0]["n"] == 2  # numbers stay numbers
    assert main(["leaderboard", "--db", str(db)]) == 0
    md = capsys.readouterr().out
    assert "<script>" not in md and "&lt;script>alert(1)&lt;/script>\\|x" in md
    ResultsStore(tmp_path / "empty.db")  # a store with nothing in it yet
    assert main(["leaderboard", "--db", str(tmp_path / "empty.db"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    # a --db that does not exist (a typo) is an error naming it, and reading never creates it
    assert main(["leaderboard", "--db", str(tmp_path / "typo.db"), "--json"]) == 2
    assert "typo.db: no such file" in capsys.readouterr().err
    assert not (tmp_path / "typo.db").exists()


def test_statistics_and_atomic_files_are_0644_under_umask_022(tmp_path):
    from ffbench.fileio import atomic_write_text
    from ffbench.metrics.stats import GaussianStats

    old = os.umask(0o022)
    try:
        p = GaussianStats.from_features(np.eye(3)).save(tmp_path / "s.npz")
        q = atomic_write_text(tmp_path / "t.txt", "x")
    finally:
        os.umask(old)
    for f in (p, q):
        assert stat.S_IMODE(f.stat().st_mode) == 0o644, f
    assert GaussianStats.load(p).n == 3
    assert [f.name for f in tmp_path.iterdir() if f.name.startswith(".")] == []  # no temp left


def test_random_clip_weights_are_named_like_i3d_and_c3d():
    from ffbench.metrics.extractors.clip import CLIPExtractor

    ext = CLIPExtractor.random(3)
    assert ext.weights_sha256 == "random-seed-3" and ext.describe()["weights_sha256"] == "random-seed-3"
    _, n = ext.encode_texts(["a cat", "word " * 100])
    assert n == 1 and ext.last_truncated == [False, True]


@pytest.mark.parametrize("args", [["weights", "list"], ["protocols", "list"], ["models", "list"]])
def test_json_outputs_parse_strictly(args, capsys):
    assert main(args + ["--json"]) == 0
    json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"non-strict {c}"))
