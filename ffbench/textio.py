"""Every text input (prompt files, dataset lists, TOML configs) is read through here, so they all
agree on what a text file is — Windows editors and "CSV UTF-8" exports add a byte-order mark and
CRLF line ends, and a prompt must never start with an invisible U+FEFF:

- decoded as UTF-8 with or without a BOM (`utf-8-sig`), or as UTF-16 when the file starts with a
  UTF-16 BOM (Notepad's and Excel's "Unicode text"); anything else is a `TextFileError` naming
  the file and the byte position (ffbench does not guess legacy encodings);
- CRLF and lone CR become LF;
- `read_lines` drops blank lines and full-line comments (first non-blank character `#`) and
  strips each line; a `#` inside a line is text (prompts may hold hashtags).
"""
from __future__ import annotations

import tomllib
from pathlib import Path

from .errors import ConfigError

__all__ = ["TextFileError", "read_text", "decode_text", "read_lines", "read_toml"]


class TextFileError(ConfigError):
    """A text input is missing or is not UTF-8; the message names the file."""


def read_text(path, what: str = "file") -> str:
    """The file's text: UTF-8 (BOM removed) or UTF-16 with a BOM, line ends normalised to LF."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise TextFileError(f"{path}: {what} not found") from None
    except OSError as e:
        raise TextFileError(f"{path}: cannot read {what} ({e.strerror or e})") from None
    return decode_text(data, path, what)


def decode_text(data: bytes, path, what: str = "file") -> str:
    """`read_text` for bytes already read (callers that also hash them)."""
    utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff")
    try:
        text = data.decode("utf-16") if utf16 else data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        enc = "UTF-16" if utf16 else "UTF-8"
        raise TextFileError(f"{path}: {what} is not {enc} text (byte 0x{data[e.start]:02x} at "
                            f"offset {e.start}); save it as UTF-8") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_lines(path, what: str = "file", comments: bool = True) -> list[tuple[int, str]]:
    """(1-based line number, stripped line) of every non-blank, non-comment line."""
    out = []
    for n, line in enumerate(read_text(path, what).split("\n"), 1):
        line = line.strip()
        if line and not (comments and line.startswith("#")):
            out.append((n, line))
    return out


def read_toml(path, what: str = "config") -> dict:
    """A TOML file as a dict; invalid TOML is a `TextFileError` naming the file."""
    try:
        return tomllib.loads(read_text(path, what))
    except tomllib.TOMLDecodeError as e:
        raise TextFileError(f"{path}: invalid TOML ({e})") from None
