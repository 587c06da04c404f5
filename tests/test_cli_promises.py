"""What the README promises about every command, checked over every command the parser has
(issue #16), so a command added later cannot miss it:

- "Every command has `--help` and `-q/--quiet`";
- "Every command's result lands in the results store (`--no-store` to skip; `--db URL`)";
- an unrecognised option is reported with the command's own usage, and a misspelt choice gets
  a "Did you mean".
"""
from __future__ import annotations

import argparse

import pytest

from ffbench.cli import build_parser, leaf_parsers, main

LEAVES = dict(leaf_parsers(build_parser()))
# commands that only read a results store (`--db` without writing to it)
STORE_READERS = {("report",), ("leaderboard",)}
# commands known to write their result to the store (the walk below must find each of them)
STORE_WRITERS = {("run",), ("evaluate", "fvd"), ("evaluate", "is"), ("evaluate", "clipsim"),
                 ("evaluate", "kvd"), ("evaluate", "fid"), ("evaluate", "kid"),
                 ("evaluate", "jedi"), ("evaluate", "reconstruction")}


def _required_args(parser: argparse.ArgumentParser) -> list[str]:
    """Values for the parser's required positionals and options (any string parses)."""
    argv: list[str] = []
    for a in parser._actions:  # noqa: SLF001
        if a.option_strings:
            if a.required:
                argv += [a.option_strings[-1], _value(a)]
        elif a.nargs not in ("?", "*", argparse.REMAINDER) and not isinstance(a, argparse._SubParsersAction):  # noqa: SLF001
            argv += [_value(a)] * (a.nargs if isinstance(a.nargs, int) else 1)
    return argv


def _value(action) -> str:
    return str(next(iter(action.choices))) if action.choices else "x"


def _options(parser) -> set[str]:
    return {o for a in parser._actions for o in a.option_strings}  # noqa: SLF001


def test_the_walk_finds_every_command():
    paths = set(LEAVES)
    for expected in [("run",), ("generate",), ("demo",), ("stats", "compute"), ("weights", "list"),
                     ("evaluate", "fvd"), ("evaluate", "is"), ("evaluate", "clipsim"),
                     *STORE_WRITERS, *STORE_READERS]:
        assert expected in paths
    assert () not in paths  # the top-level parser has subcommands: not a leaf


@pytest.mark.parametrize("path", sorted(LEAVES), ids=" ".join)
@pytest.mark.parametrize("flag", ["-q", "--quiet"])
def test_every_command_takes_q_and_quiet(path, flag):
    parser = LEAVES[path]
    base = _required_args(parser)
    assert parser.parse_args(base).quiet is False
    assert parser.parse_args(base + [flag]).quiet is True
    # and through the whole command line, as a user types it
    args = build_parser().parse_args([*path, *base, flag])
    assert args.quiet is True and args._parser.prog == parser.prog


@pytest.mark.parametrize("path", sorted(p for p, leaf in LEAVES.items() if "--db" in _options(leaf)),
                         ids=" ".join)
def test_every_command_writing_the_store_takes_no_store(path):
    parser = LEAVES[path]
    if path in STORE_READERS:
        assert "--no-store" not in _options(parser)
        return
    base = _required_args(parser)
    assert parser.parse_args(base + ["--no-store"]).no_store is True
    assert parser.parse_args(base).no_store is False


def test_known_store_writers_have_no_store():
    for path in STORE_WRITERS:
        assert {"--db", "--no-store"} <= _options(LEAVES[path]), path


@pytest.mark.parametrize("path", sorted(STORE_WRITERS), ids=" ".join)
def test_no_store_and_db_exclude_each_other(path, capsys):
    with pytest.raises(SystemExit) as e:
        main([*path, *_required_args(LEAVES[path]), "--db", "x.db", "--no-store"])
    assert e.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_run_no_store_means_db_none():
    from ffbench.commands.run import _config_from_args

    args = build_parser().parse_args(["run", "--model", "fusionframes-tiny", "--dataset", "demo",
                                      "--metrics", "clipsim", "--out", "o", "--no-store"])
    assert _config_from_args(args).db == "none"
    args = build_parser().parse_args(["run", "--model", "fusionframes-tiny", "--dataset", "demo",
                                      "--metrics", "clipsim", "--out", "o", "--db", "r.db"])
    assert _config_from_args(args).db == "r.db"


def test_unknown_option_shows_the_commands_usage(capsys):
    with pytest.raises(SystemExit) as e:
        main(["run", "--bogus"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: ffbench run ")
    assert "ffbench run: error: unrecognized arguments: --bogus" in err


def test_misspelt_choice_suggests(capsys):
    with pytest.raises(SystemExit):
        main(["evalute"])
    assert "Did you mean evaluate?" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["stats", "compute", "--real", "x", "--protocol", "fvd@stylegan-v-2048x61"])
    assert "Did you mean fvd@stylegan-v-2048x16" in capsys.readouterr().err


def test_a_command_defining_its_own_quiet_is_refused():
    from ffbench.progress import add_quiet_flag

    p = argparse.ArgumentParser(prog="ffbench new")
    p.add_argument("--quiet", action="store_true")
    with pytest.raises(ValueError, match="add_quiet_flag"):
        add_quiet_flag(p)
    ok = argparse.ArgumentParser()
    add_quiet_flag(ok)
    add_quiet_flag(ok)  # twice: one option
    assert ok.parse_args(["-q"]).quiet is True


# --- unknown names: one "Did you mean" (ffbench.errors.did_you_mean), as for models ----------

@pytest.mark.parametrize("typo, suggestion", [("clipsimm", "clipsim"), ("fdv", "fvd"),
                                              ("fvd@stylegan-v-2048x61", "fvd@stylegan-v-2048x16"),
                                              ("clipsim@vit-b32", "clipsim@vit-b-32")])
def test_misspelt_metric_suggests_and_lists_shorthands(typo, suggestion):
    from ffbench.errors import ConfigError
    from ffbench.harness.config import parse_metrics
    from ffbench.harness.families import FAMILIES

    with pytest.raises(ConfigError) as e:
        parse_metrics(f"fvd,{typo}", "run.toml: key 'metrics'")
    msg = str(e.value)
    assert msg.startswith(f"run.toml: key 'metrics': unknown metric {typo!r}. Did you mean ")
    assert suggestion in msg.split("?")[0]
    for name, fam in FAMILIES.items():  # every shorthand with what it stands for
        assert f"{name} (= {fam.default_protocol})" in msg
    assert "reconstruction@" not in msg  # not a generation metric: not offered


def test_ambiguous_metric_prefix_names_the_candidates():
    from ffbench.errors import ConfigError
    from ffbench.harness.config import parse_metrics

    with pytest.raises(ConfigError, match="'fvd@cd' is ambiguous: .*fvd@cd-fvd-i3d, fvd@cd-fvd-i3d-folder"):
        parse_metrics(["fvd@cd"])
    assert parse_metrics("clipsim, fvd@videog") == ("clipsim@vit-b-32", "fvd@videogpt")


def test_unknown_protocol_suggests():
    from ffbench.protocols import ProtocolError, get

    with pytest.raises(ProtocolError, match=r"unknown protocol 'is@c3d-ucf110'\. Did you mean "
                                            r"is@c3d-ucf101.*\? Known: "):
        get("is@c3d-ucf110")
    with pytest.raises(ProtocolError) as e:
        get("zzz")
    assert "Did you mean" not in str(e.value) and "Known: fvd@stylegan-v-2048x16" in str(e.value)


def test_run_with_a_misspelt_metric_fails_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["run", "--model", "fusionframes-tiny", "--dataset", "demo", "--metrics",
                 "clipsimm", "--out", str(out), "--no-store"])
    assert code == 2 and not out.exists()
    assert "Did you mean clipsim?" in capsys.readouterr().err


# --- the run config TOML is documented in the README, every key, in sync with the code -------

def _readme_run_config() -> str:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = text.split("\n#### Run config file\n", 1)[1]
    intro, block = section.split("```toml\n", 1)
    assert "\n#" not in intro  # the example is this section's own
    return block.split("\n```", 1)[0]


def _keys(block: str) -> tuple[set[str], dict[str, set[str]]]:
    """(top-level keys, {table: keys}) written as `key = ...` lines in a TOML example."""
    top: set[str] = set()
    tables: dict[str, set[str]] = {}
    current = top
    for line in block.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("["):
            current = tables.setdefault(line.strip("[]"), set())
        elif "=" in line:
            current.add(line.split("=", 1)[0].strip())
    return top, tables


def _config_fields():
    import dataclasses

    from ffbench.harness.config import RealConfig, RunConfig
    from ffbench.schema import _INTERNAL

    top = {f.name for f in dataclasses.fields(RunConfig) if not f.metadata.get(_INTERNAL)}
    return top, {f.name for f in dataclasses.fields(RealConfig)}


def test_readme_lists_every_run_config_key():
    fields, real = _config_fields()
    assert "model_config_hash" not in fields and "extractor_weights" not in fields  # internal
    top, tables = _keys(_readme_run_config())
    tables_keys = {"model_overrides", "real", "extractors"}
    assert top == fields - tables_keys, "README 'Run config file' and RunConfig differ"
    assert set(tables) == tables_keys
    assert tables["real"] == real


def test_config_docstring_example_lists_the_same_keys():
    from ffbench.harness import config

    doc = config.__doc__.split("Example", 1)[1]
    assert _keys(doc) == _keys(_readme_run_config())


def test_readme_run_config_example_is_a_valid_config(tmp_path):
    from ffbench.harness.config import load_run_config

    path = tmp_path / "run.toml"
    path.write_text(_readme_run_config(), encoding="utf-8")
    cfg = load_run_config(path)
    assert cfg.model == "zeroscope-v2-576w" and cfg.metrics[0] == "fvd@stylegan-v-2048x16"
    assert cfg.model_overrides == {"frames": 16}


def test_run_help_points_to_the_readme_section(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    assert "Run config file" in " ".join(out.split()) and "ffbench.harness.config" not in out


def test_weights_list_shows_every_file_with_its_source_url(isolated_home, capsys):
    """README: "`ffbench weights list` shows every file with its source URL, sha256 and
    expected location"."""
    from ffbench import weights

    assert main(["weights", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "filename", "state", "sha256", "expected_location", "source_url"]
    for name in weights.REGISTRY:
        (line,) = [x for x in lines if x.startswith(name + " ")]
        url = weights.status(name)["url"].split()[0]
        assert url.startswith("https://") and line.rstrip().endswith(url), name
        assert str(isolated_home) in line


def test_run_dir_doc_lists_what_generate_writes():
    """docs/RUN_DIR.md names the files `generate` writes into a run folder besides the engine's."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    doc = (root / "docs" / "RUN_DIR.md").read_text(encoding="utf-8")
    code = (root / "ffbench" / "commands" / "_generate_fusionframes.py").read_text(encoding="utf-8")
    for name in ("prompts.txt", "fusionframes-config.toml"):
        assert f'"{name}"' in code and f"\n  {name}" in doc, name


@pytest.mark.parametrize("argv, words", [
    (["generate", "fusionframes-tiny", "--prompts", "ucf10", "--out", "OUT"],
     "--prompts 'ucf10' is neither an existing file nor a known dataset. Did you mean ucf101"),
    (["datasets", "show", "msrvt"], "unknown dataset 'msrvt'. Did you mean msrvtt"),
    (["weights", "where", "clip_vit_b23"], "unknown weight file 'clip_vit_b23'. Did you mean clip_vit_b32"),
    (["run", "--model", "fusionframes-tiyn", "--dataset", "demo", "--metrics", "is", "--out", "OUT"],
     "Did you mean fusionframes-tiny"),
], ids=lambda v: v[0] if isinstance(v, list) else None)
def test_every_unknown_name_suggests(argv, words, tmp_path, isolated_home, capsys):
    """Names of every kind (dataset, weight file, model; metrics and protocols above) get the
    same "Did you mean" (ffbench.errors.did_you_mean), and nothing is written."""
    out = tmp_path / "out"
    assert main([str(out) if a == "OUT" else a for a in argv]) == 2
    assert words in capsys.readouterr().err
    assert not out.exists()
