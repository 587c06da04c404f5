"""Fault injection on the run directory (issue 21): every damaged piece of run state is redone
or refused with one error naming the file and the remedy; a config error writes nothing; OS
errors (disk full on a small tmpfs, read-only) are one line naming the path and lose nothing; a
lost mp4 is rewritten; the retry rule for failed samples; kill -9 then two concurrent resumes.

Tiny: 4 samples of 16x16x16 from the fake generator, 6-d / 10-d random tiny extractors
(harness_fakes), so the whole file stays well under two minutes on a busy 2-core machine.
"""
from __future__ import annotations

import errno
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from harness_util import (base_config, comparable, env, ffbench_run, in_process, load_results,
                          real_stats_file, write_toml)

from ffbench.errors import ConfigError, FFBenchError
from ffbench.harness.rundir import RunDir, RunDirError

N = 4


def cfg_for(out, stats, **kw) -> dict:
    return base_config(out, n=N, real={"stats": str(stats)}, **kw)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished 4-sample run (copied by each test that damages it) and its results."""
    d = tmp_path_factory.mktemp("faults")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FFBENCH_HOME", str(d / "home"))
        stats = real_stats_file(d / "real.npz")
        res = in_process(cfg_for(d / "run", stats))
    # FVD is computed; IS needs 10 videos for its 10 splits: reported as not computed
    assert res["n_samples"] == N and res["scores"][0]["value"] is not None
    return d / "run", stats, comparable(res)


@pytest.fixture
def run_copy(finished, tmp_path):
    src, stats, expected = finished
    out = tmp_path / "run"
    shutil.copytree(src, out)
    return out, stats, expected


def _ids(out) -> list[str]:
    return [json.loads(line)["sample_id"] for line in (out / "plan.jsonl").read_text().splitlines()]


def _truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


def cli(capsys, *args) -> tuple[int, str]:
    """`ffbench ARGS` in this process (the fakes are importable here; no interpreter start):
    exit code and stderr; an uncaught exception (a traceback for the user) fails the test."""
    from ffbench.cli import main

    capsys.readouterr()
    rc = main([str(a) for a in args])
    return rc, capsys.readouterr().err


def _one_line_error(got: tuple[int, str], *words) -> str:
    rc, err = got
    assert rc == 2, (rc, err[-2000:])
    assert "Traceback" not in err, err[-3000:]
    lines = [ln for ln in err.splitlines() if ln.startswith("ffbench: error:")]
    assert len(lines) == 1, err[-2000:]
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


# --- item 3 / 6: damaged run state -----------------------------------------------------------

def test_plan_cut_at_a_line_end_is_rebuilt_never_run_smaller(run_copy, tmp_path, capsys):
    out, stats, expected = run_copy
    plan = (out / "plan.jsonl").read_bytes()
    lines = plan.decode().splitlines(keepends=True)
    (out / "plan.jsonl").write_text("".join(lines[:-1]))
    res = in_process(cfg_for(out, stats))  # plan.meta.json's sha256 proves the config's plan is it
    assert comparable(res) == expected and res["n_planned"] == N
    assert (out / "plan.jsonl").read_bytes() == plan
    # both files damaged: nothing proves which plan the run had -> refused, file and remedy named
    (out / "plan.jsonl").write_text("".join(lines[:-1]))
    _truncate(out / "plan.meta.json")
    with pytest.raises(RunDirError, match=r"plan\.meta\.json: damaged plan description.*new --out"):
        in_process(cfg_for(out, stats))
    toml = write_toml(tmp_path / "run.toml", cfg_for(out, stats))
    _one_line_error(cli(capsys, "run", toml, "--quiet"), "plan.meta.json", "--out")


def test_plan_matching_neither_its_description_nor_the_config_is_refused(run_copy):
    out, stats, _ = run_copy
    lines = (out / "plan.jsonl").read_text().splitlines(keepends=True)
    meta = json.loads((out / "plan.meta.json").read_text())
    (out / "plan.jsonl").write_text("".join(lines[:-1]))
    (out / "plan.meta.json").write_text(json.dumps({**meta, "n": N + 1, "plan_sha256": "0" * 64}))
    with pytest.raises(RunDirError, match=r"plan\.jsonl: 3 samples .* records 5"):
        in_process(cfg_for(out, stats))


def test_truncated_sample_and_feature_files_are_redone(run_copy, caplog):
    out, stats, expected = run_copy
    ids = _ids(out)
    npy = out / "samples" / f"{ids[1]}.npy"
    original = npy.read_bytes()
    _truncate(out / "samples" / f"{ids[0]}.json")
    _truncate(npy, 0.3)
    feat = sorted((out / "features").glob("*/*.npy"))[2]
    feat_bytes = feat.read_bytes()
    _truncate(feat, 0.9)
    res = in_process(cfg_for(out, stats))
    assert comparable(res) == expected
    assert npy.read_bytes() == original and feat.read_bytes() == feat_bytes
    assert not (out / "errors").exists()
    logged = caplog.text
    assert f"{ids[0]}.json" in logged and f"{ids[1]}.npy" in logged and feat.name in logged


def test_damaged_feature_description_is_refused_with_its_remedy(run_copy, tmp_path, capsys):
    out, stats, expected = run_copy
    info = sorted((out / "features").glob("*.json"))[0]
    _truncate(info)
    with pytest.raises(RunDirError, match=rf"{info.name}: damaged .*delete {info.name} and the folder"):
        in_process(cfg_for(out, stats))
    toml = write_toml(tmp_path / "run.toml", cfg_for(out, stats))
    _one_line_error(cli(capsys, "run", toml, "--quiet"), str(info), "delete")
    info.unlink()  # the remedy, half done: features without their description are refused too
    with pytest.raises(RunDirError, match="missing, but"):
        in_process(cfg_for(out, stats))
    shutil.rmtree(info.with_suffix(""))
    assert comparable(in_process(cfg_for(out, stats))) == expected


def test_damaged_model_json_is_refused_then_rewritten(run_copy):
    out, stats, expected = run_copy
    before = json.loads((out / "model.json").read_text())
    _truncate(out / "model.json")
    with pytest.raises(RunDirError, match=r"model\.json: damaged generator description.*delete it"):
        in_process(cfg_for(out, stats))
    (out / "model.json").unlink()
    res = in_process(cfg_for(out, stats))
    assert comparable(res) == expected and res["random_weights"] is True
    assert json.loads((out / "model.json").read_text()) == before


def test_extractor_weights_changed_mid_run_is_refused(run_copy):
    out, stats, _ = run_copy
    ids = _ids(out)
    info_path = sorted((out / "features").glob("*.json"))[0]
    (info_path.with_suffix("") / f"{ids[0]}.npy").unlink()  # one feature left to compute
    info = json.loads(info_path.read_text())
    info_path.write_text(json.dumps({**info, "weights_tag": "sha256:other"}))
    with pytest.raises(RunDirError, match="mixing them would be silently wrong"):
        in_process(cfg_for(out, stats))


# --- item 4: the real statistics are bound to the real set ------------------------------------

def _real_folder(d: Path, n: int, start: int = 0) -> Path:
    import torch

    from ffbench.video import write_video

    d.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        g = torch.Generator().manual_seed(100 + i)
        write_video(d / f"r{i}.npy", torch.randint(0, 256, (16, 16, 16, 3), generator=g,
                                                   dtype=torch.uint8))
    return d


def test_changed_real_folder_recomputes_the_real_statistics(tmp_path):
    real = _real_folder(tmp_path / "real", 3)

    def cfg(out):
        return base_config(out, n=N, metrics=["fvd@stylegan-v-2048x16"], real={"source": str(real)})

    def fvd(res):
        return res["scores"][0]["value"]

    out = tmp_path / "run"
    first = fvd(in_process(cfg(out)))
    saved = out / "real" / "fvd-stylegan-v-2048x16.npz"
    assert saved.is_file() and fvd(in_process(cfg(out))) == first
    _real_folder(real, 1, start=3)  # a fourth real video
    second = fvd(in_process(cfg(out)))
    assert second != first
    assert fvd(in_process(cfg(tmp_path / "fresh"))) == second
    _truncate(saved)  # a torn copy is a miss: recomputed, same number
    assert fvd(in_process(cfg(out))) == second


# --- item 8: a config is validated before run.json --------------------------------------------

def test_config_errors_write_nothing_and_the_fixed_command_works(tmp_path):
    stats = real_stats_file(tmp_path / "real.npz")
    out = tmp_path / "run"
    bad_extractor = cfg_for(out, stats, extractors={"i3d-torchscript": "harness_fakes:no_such",
                                                    "c3d-ucf101": "harness_fakes:tiny_extractor"})
    with pytest.raises(ConfigError, match="harness_fakes:no_such"):
        in_process(bad_extractor)
    bad_real = base_config(out, n=N, real={"source": str(tmp_path / "no-such-folder")})
    with pytest.raises(ConfigError, match="no-such-folder"):
        in_process(bad_real)
    assert not (out / "run.json").exists()
    # a run that stopped after run.json but before planning (an error found late) does not
    # hold the directory: the corrected config takes it
    from ffbench.harness.config import parse_run_config

    RunDir(out).bind(parse_run_config(cfg_for(out, stats, seed=99)), "test")
    res = in_process(cfg_for(out, stats))
    assert res["n_samples"] == N and json.loads((out / "run.json").read_text())["config"]["seed"] == 3


# --- item 9: OS errors, lost mp4s, the retry rule --------------------------------------------

def test_os_error_is_one_line_naming_the_path(tmp_path, capsys):
    stats = real_stats_file(tmp_path / "real.npz")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    toml = write_toml(tmp_path / "run.toml", cfg_for(blocker / "run", stats))
    _one_line_error(cli(capsys, "run", toml, "--quiet"), str(blocker))


def test_disk_full_while_writing_an_mp4_redoes_the_sample(tmp_path, monkeypatch, finished):
    import ffbench.video

    _, stats, expected = finished
    out = tmp_path / "run"
    real_write = ffbench.video.write_video
    calls = []

    def full_disk(path, video, fps=8):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(path, video, fps=fps)

    monkeypatch.setattr(ffbench.video, "write_video", full_disk)
    with pytest.raises(FFBenchError, match=r"\.mp4: No space left on device \(disk full"):
        in_process(cfg_for(out, stats))
    assert len(list((out / "samples").glob("*.json"))) == 1  # the second sample is not complete
    monkeypatch.setattr(ffbench.video, "write_video", real_write)
    res = in_process(cfg_for(out, stats))
    assert comparable(res) == expected
    assert len(list((out / "samples").glob("*.mp4"))) == N
    assert all(json.loads(p.read_text())["mp4"] is True for p in (out / "samples").glob("*.json"))
    # an mp4 lost afterwards (deleted, or emptied) is written again from the exact .npy
    ids = _ids(out)
    (out / "samples" / f"{ids[0]}.mp4").unlink()
    (out / "samples" / f"{ids[1]}.mp4").write_bytes(b"")
    in_process(cfg_for(out, stats))
    from ffbench.video import read_video

    for sid in ids[:2]:
        assert read_video(out / "samples" / f"{sid}.mp4").shape == (16, 16, 16, 3)


def test_retry_rule_failed_samples_stay_failed_until_their_error_file_is_deleted(tmp_path, finished):
    from ffbench.harness.config import parse_run_config
    from ffbench.harness.plan import build_plan

    from harness_fakes import FailingGenerator, FakeGenerator

    _, stats, expected = finished
    cfg = cfg_for(tmp_path / "run", stats)
    victim = build_plan(parse_run_config(cfg)).items[2]
    res = in_process(cfg, generator=FailingGenerator({victim.seed: "raise"}))
    assert [f["sample_id"] for f in res["failures"]] == [victim.sample_id]
    healthy = FakeGenerator()
    res = in_process(cfg, generator=healthy)  # a recorded failure is kept: not retried
    assert res["n_failed"] == 1 and healthy.calls == 0
    (Path(cfg["out"]) / "errors" / f"{victim.sample_id}.json").unlink()
    res = in_process(cfg, generator=healthy)  # its error file deleted: retried
    assert healthy.calls == 1 and comparable(res) == expected


# --- a real small disk (tmpfs), read-only output ----------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {p.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_disk_full_and_read_only_on_a_real_small_tmpfs(small_disk, tmp_path, finished, capsys):
    _, stats, expected = finished
    out = small_disk / "run"
    toml = write_toml(tmp_path / "run.toml", cfg_for(out, stats))
    _one_line_error(cli(capsys, "run", toml, "--quiet"), str(small_disk), "No space left on device")
    assert not list(out.rglob(".*.tmp"))
    subprocess.run(["mount", "-o", "remount,size=16m", str(small_disk)], check=True)
    rc, err = cli(capsys, "run", toml, "--quiet")
    assert rc == 0, err[-3000:]
    assert comparable(load_results(out)) == expected
    assert len(list((out / "samples").glob("*.mp4"))) == N
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    _one_line_error(cli(capsys, "run", toml, "--quiet"), str(out), "Read-only file system")


# --- kill -9, then two writers on one run directory -------------------------------------------

def test_kill9_in_two_stages_then_two_concurrent_resumes_agree(tmp_path, finished):
    _, stats, expected = finished
    out = tmp_path / "run"
    toml = write_toml(tmp_path / "run.toml", cfg_for(out, stats))
    for stage in ("generate:2", "features:3"):  # kill -9 inside generation, then inside features
        p = ffbench_run(toml, "--quiet", FFBENCH_CRASH_AT=stage)
        assert p.returncode == -9, p.stderr[-2000:]
    assert len(list((out / "features").rglob("*.npy"))) == 3
    import sys

    procs = [subprocess.Popen([sys.executable, "-m", "ffbench.cli", "run", str(toml), "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(),
                              cwd=str(Path(__file__).resolve().parents[2])) for _ in range(2)]
    outs = [pr.communicate(timeout=240) for pr in procs]
    for pr, (so, se) in zip(procs, outs):
        assert pr.returncode == 0, se[-3000:]
        assert comparable(json.loads(so)) == expected
    assert comparable(load_results(out)) == expected
    assert not list(out.rglob(".*.tmp"))


def test_any_os_error_reaching_the_cli_is_one_line(tmp_path, capsys, monkeypatch, finished):
    """An OS error outside our writers (a read, a library) still prints as 'PATH: reason'."""
    import ffbench.harness.runner as runner

    _, stats, _ = finished

    def unreadable(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", "/data/videos/v1.mp4")

    monkeypatch.setattr(runner, "run", unreadable)
    toml = write_toml(tmp_path / "run.toml", cfg_for(tmp_path / "run", stats))
    line = _one_line_error(cli(capsys, "run", toml, "--quiet"), "/data/videos/v1.mp4: Permission denied")
    assert "Errno" not in line
