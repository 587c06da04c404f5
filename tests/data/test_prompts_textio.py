"""Issue 17 item 4: every text input read as UTF-8 with or without a BOM, CRLF, blank lines and
'#' comments handled the same way (one helper, ffbench.textio, used by every reader)."""
from __future__ import annotations

from pathlib import Path

import pytest

import ffbench
from ffbench.data.prompts import read_prompt_lines, read_prompts_file
from ffbench.errors import ConfigError
from ffbench.textio import TextFileError, read_lines, read_text, read_toml

BOM = "\ufeff"
PROMPT_FILES = {
    "p.txt": "a\tp1\r\n\r\n# comment\r\nb\tp2\r\n",
    "p.tsv": "a\tp1\n  # indented comment\nb\tp2",
    "p.json": '{"a": "p1", "b": "p2"}\r\n',
    "p.jsonl": '{"video": "a", "prompt": "p1"}\r\n\r\n# c\r\n{"video": "b", "prompt": "p2"}\r\n',
    "p.csv": 'video,prompt\r\na,p1\r\n\r\n# c,x\r\nb,"p2"\r\n',
}


@pytest.mark.parametrize("name", list(PROMPT_FILES))
@pytest.mark.parametrize("bom", [False, True])
def test_prompts_file_with_or_without_bom(tmp_path, name, bom):
    path = tmp_path / name
    path.write_bytes(((BOM if bom else "") + PROMPT_FILES[name]).encode("utf-8"))
    assert read_prompts_file(path) == {"a": "p1", "b": "p2"}  # never "\ufeffa"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_utf16_with_bom_as_windows_unicode_text(tmp_path, encoding):
    raw = PROMPT_FILES["p.tsv"].encode(encoding)
    if encoding == "utf-16-be":
        raw = b"\xfe\xff" + raw
    (tmp_path / "u.tsv").write_bytes(raw)
    assert read_prompts_file(tmp_path / "u.tsv") == {"a": "p1", "b": "p2"}


def test_csv_without_header_and_quoted_commas(tmp_path):
    (tmp_path / "q.csv").write_bytes((BOM + 'x,"a cat, running"\ny,dog\n').encode())
    assert read_prompts_file(tmp_path / "q.csv") == {"x": "a cat, running", "y": "dog"}
    (tmp_path / "bad.csv").write_text("x,1,2\n")
    with pytest.raises(ConfigError, match=r"bad\.csv:1: expected 2 columns"):
        read_prompts_file(tmp_path / "bad.csv")


def test_generate_prompt_lines_drop_bom_and_comments(tmp_path):
    (tmp_path / "g.txt").write_bytes((BOM + "a red car\r\n# not a prompt\r\n\r\n  a #hashtag dog \r\n").encode())
    assert read_prompt_lines(tmp_path / "g.txt") == ["a red car", "a #hashtag dog"]
    (tmp_path / "empty.txt").write_bytes((BOM + "# only a comment\r\n").encode())
    with pytest.raises(ConfigError, match=r"empty\.txt: no prompts"):
        read_prompt_lines(tmp_path / "empty.txt")


def test_text_helpers_and_errors(tmp_path):
    (tmp_path / "t.txt").write_bytes((BOM + "x\r\ny\rz").encode())
    assert read_text(tmp_path / "t.txt") == "x\ny\nz"
    assert read_lines(tmp_path / "t.txt") == [(1, "x"), (2, "y"), (3, "z")]
    (tmp_path / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(TextFileError, match=r"latin1\.txt: prompts file is not UTF-8 text \(byte 0xe9 at offset 3\)"):
        read_prompts_file(tmp_path / "latin1.txt")
    with pytest.raises(TextFileError, match=r"nope\.json: prompts file not found"):
        read_prompts_file(tmp_path / "nope.json")


def test_toml_configs_with_bom_and_crlf(tmp_path):
    from ffbench.data.config import parse_dataset_config
    from ffbench.generators.config import load_config

    (tmp_path / "c.toml").write_bytes((BOM + 'a = 1\r\n# c\r\nb = "x"\r\n').encode())
    assert read_toml(tmp_path / "c.toml") == {"a": 1, "b": "x"}
    res = Path(ffbench.__file__).parent / "resources"
    for src, load in ((res / "baselines" / "godiva.toml", load_config),
                      (res / "datasets" / "demo.toml", parse_dataset_config)):
        plain = load(src)
        bom = tmp_path / src.name
        bom.write_bytes((BOM + src.read_text(encoding="utf-8").replace("\n", "\r\n")).encode())
        loaded = load(bom)
        assert loaded.name == plain.name


def test_ucf101_class_prompt_file_with_bom(tmp_path):
    from ffbench.data.ucf101 import read_class_prompt_file

    (tmp_path / "cls.txt").write_bytes((BOM + "# my prompts\r\nsomeone walks\r\n\r\nsomeone rides\r\n").encode())
    assert read_class_prompt_file(tmp_path / "cls.txt", ["Walk", "Bike"]) == {
        "Walk": "someone walks", "Bike": "someone rides"}
