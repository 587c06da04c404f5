"""Published numbers (paper Tables 1-3) as data: ffbench/resources/published/*.toml.

They ship inside the package so an installed ffbench prints them too; the repo-level
reports/README.md points here. Each row carries its source; see the TOML comments for provenance
(shared/reference/paper.md §1).
"""
from __future__ import annotations

import tomllib
from pathlib import Path

from ..errors import ConfigError


def published_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "resources" / "published"


def load(name: str) -> dict:
    """One published table, e.g. load("table1") -> {"title", "source", "metrics", "rows": [...]}."""
    path = published_dir() / f"{name}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in published_dir().glob("*.toml"))
        raise ConfigError(f"no published table {name!r} (known: {', '.join(known)})")
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    for i, row in enumerate(data.get("rows", [])):
        if "method" not in row or "source" not in row:
            raise ConfigError(f"{path}: row {i} needs 'method' and 'source'")
    return data
