import json

import numpy as np
import pytest

from ffbench import __version__


def test_version(cli):
    r = cli("--version", check=True)
    assert __version__ in r.stdout


@pytest.mark.parametrize("args", [
    [], ["weights"], ["weights", "list"], ["weights", "where"], ["weights", "verify"],
    ["protocols"], ["protocols", "list"], ["protocols", "show"], ["video"], ["video", "info"],
    ["evaluate"],
])
def test_help_everywhere(cli, args):
    r = cli(*args, "--help", check=True)
    assert "usage: ffbench" in r.stdout


def test_every_registered_command_has_help(cli):
    """Walk the parser tree so commands added later are covered too."""
    import argparse

    from ffbench.cli import build_parser

    def walk(parser, path):
        yield path
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, path + [name])

    paths = list(walk(build_parser(), []))
    assert len(paths) > 8
    for path in paths:
        r = cli(*path, "--help")
        assert r.returncode == 0 and "usage:" in r.stdout, path


def test_weights_list_json(cli):
    rows = json.loads(cli("weights", "list", "--json", check=True).stdout)
    names = {r["name"] for r in rows}
    assert {"i3d_torchscript", "fusionframes_keyframe", "flan_ul2_encoder"} <= names
    assert all(r["found"] is None for r in rows)  # isolated FFBENCH_HOME


def test_weights_where_names_url_and_location(cli, isolated_home):
    r = cli("weights", "where", "c3d_ucf101", check=True)
    assert "dropbox.com" in r.stdout and str(isolated_home / "c3d_ucf101.pt") in r.stdout


def test_weights_verify_missing_fails_and_present_passes(cli, isolated_home):
    r = cli("weights", "verify", "c3d_ucf101")
    assert r.returncode == 1 and "missing" in r.stdout
    (isolated_home / "c3d_ucf101.pt").write_bytes(b"x")
    r = cli("weights", "verify", "c3d_ucf101", "--json", check=True)
    assert json.loads(r.stdout)[0]["sha256_origin"] == "pinned"


def test_protocols_list_and_show(cli):
    from ffbench.protocols import get

    rows = json.loads(cli("protocols", "list", "--json", check=True).stdout)
    assert {"fvd@stylegan-v-2048x16", "is@c3d-ucf101", "clipsim@vit-b-32"} <= {r["name"] for r in rows}
    shown = json.loads(cli("protocols", "show", "fvd@videogpt", "--json", check=True).stdout)
    assert shown["hash"] == get("fvd@videogpt").hash
    r = cli("protocols", "show", "fvd@nope")
    assert r.returncode == 2 and "unknown protocol" in r.stderr and "Traceback" not in r.stderr


def test_video_info(cli, tmp_path):
    from ffbench.video import write_video

    write_video(tmp_path / "a.mp4", np.zeros((6, 16, 24, 3), np.uint8), fps=6)
    r = cli("video", "info", tmp_path / "a.mp4", "--json", check=True)
    info = json.loads(r.stdout)[0]
    assert (info["frames"], info["width"], info["height"], info["fps"]) == (6, 24, 16, 6.0)
    (tmp_path / "bad.mp4").write_bytes(b"junk")
    r = cli("video", "info", tmp_path / "a.mp4", tmp_path / "bad.mp4")
    assert r.returncode == 2 and "ffbench: error:" in r.stderr and "bad.mp4" in r.stderr
    assert "cannot decode" in r.stderr and "a.mp4" in r.stdout
