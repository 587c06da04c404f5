"""UCF-101: the official split files, its folder of .avi files, and class prompts.

Official formats (UCF101TrainTestSplits-RecognitionTask.zip, folder ucfTrainTestlist/; files
use CRLF line ends):
  classInd.txt      `1 ApplyEyeMakeup` ... `101 YoYo`
  trainlist0N.txt   `ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1`   (N = 1..3, with label)
  testlist0N.txt    `ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi`     (no label)
Videos: UCF-101/<Class>/v_<Class>_gGG_cCC.avi. One known wrinkle: the folder and classInd say
`HandstandPushups`, the files inside say `v_HandStandPushups_...`, and some redistributed copies
spell the class `HandStandPushups` in classInd too; class names are matched case-insensitively.
"""
from __future__ import annotations

import json
import random
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..textio import read_lines, read_text
from ..weights import sha256_of
from .config import DatasetConfig, DatasetError
from .prompts import PromptSet, base_provenance, derive_seed, make_sample_ids

__all__ = ["UCFClass", "UCFVideo", "class_to_phrase", "parse_class_index", "parse_split_list",
           "find_split_dir", "load_split", "find_video_dir", "list_split_videos",
           "read_class_prompt_file", "class_balanced", "ucf101_prompts", "SOURCE"]

SOURCE = ("UCF101TrainTestSplits-RecognitionTask.zip (folder ucfTrainTestlist/) from "
          "https://www.crcv.ucf.edu/data/UCF101.php")
VIDEO_SOURCE = "UCF101.rar (folder UCF-101/<Class>/*.avi) from https://www.crcv.ucf.edu/data/UCF101.php"

# Names the CamelCase split renders badly; keys are lower case (matching is case-insensitive).
_PHRASE_OVERRIDES = {
    "yoyo": "yo-yo",
    "handstandpushups": "handstand push-ups",
    "wallpushups": "wall push-ups",
    "pushups": "push-ups",
    "pullups": "pull-ups",
    "skijet": "jet ski",
    "skydiving": "skydiving",
    "skateboarding": "skateboarding",
    "breaststroke": "breaststroke",
    "shotput": "shot put",
    "bodyweightsquats": "bodyweight squats",
}
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def class_to_phrase(name: str) -> str:
    """`ApplyEyeMakeup` -> "apply eye makeup"; `YoYo` -> "yo-yo"; case of the name is ignored
    for the known odd ones (`HandStandPushups` == `HandstandPushups`)."""
    key = name.lower()
    if key in _PHRASE_OVERRIDES:
        return _PHRASE_OVERRIDES[key]
    words = _WORDS.findall(name)
    if not words:
        raise ValueError(f"cannot make a phrase from class name {name!r}")
    return " ".join(w.lower() for w in words)


@dataclass(frozen=True)
class UCFClass:
    index: int   # 1-based, as in classInd.txt
    name: str

    @property
    def phrase(self) -> str:
        return class_to_phrase(self.name)


@dataclass(frozen=True)
class UCFVideo:
    relpath: str      # as written in the list: Class/v_Class_gGG_cCC.avi
    class_name: str   # the classInd.txt spelling
    label: int        # 1-based classInd index


def _read_lines(path: Path, what: str) -> list[tuple[int, str]]:
    """(line number, stripped line) of the non-blank lines (`textio.read_lines`); errors say
    where the file comes from."""
    if not path.is_file():
        raise DatasetError(f"{path}: {what} not found; it comes from {SOURCE}")
    try:
        return read_lines(path, what, comments=False)
    except ConfigError as e:
        raise DatasetError(f"{e}; it comes from {SOURCE}") from None


def parse_class_index(path) -> tuple[UCFClass, ...]:
    """classInd.txt -> classes in index order. Indices must run 1..N without gaps."""
    path = Path(path)
    classes = []
    for lineno, line in _read_lines(path, "classInd.txt"):
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit() or not re.fullmatch(r"[A-Za-z0-9]+", parts[1]):
            raise DatasetError(f"{path}:{lineno}: expected '<index> <ClassName>', got {line!r} "
                               f"(classInd.txt from {SOURCE})")
        classes.append(UCFClass(int(parts[0]), parts[1]))
    if not classes:
        raise DatasetError(f"{path}: classInd.txt is empty (it comes from {SOURCE})")
    indices = [c.index for c in classes]
    if indices != list(range(1, len(classes) + 1)):
        raise DatasetError(f"{path}: class indices must run 1..{len(classes)} in order, got "
                           f"{indices[:5]}...")
    lower = [c.name.lower() for c in classes]
    if len(set(lower)) != len(lower):
        raise DatasetError(f"{path}: duplicate class names")
    return tuple(classes)


def parse_split_list(path, classes) -> tuple[UCFVideo, ...]:
    """trainlist0N.txt (`Class/file.avi label`) or testlist0N.txt (`Class/file.avi`)."""
    path = Path(path)
    by_lower = {c.name.lower(): c for c in classes}
    out = []
    for lineno, line in _read_lines(path, path.name):
        parts = line.split()
        where = f"{path}:{lineno}"
        if len(parts) not in (1, 2) or "/" not in parts[0] or not parts[0].lower().endswith(".avi"):
            raise DatasetError(f"{where}: expected 'Class/v_Class_gGG_cCC.avi [label]', got {line!r} "
                               f"(split lists come from {SOURCE})")
        folder = parts[0].split("/", 1)[0]
        cls = by_lower.get(folder.lower())
        if cls is None:
            raise DatasetError(f"{where}: class folder {folder!r} is not in classInd.txt")
        if len(parts) == 2:
            if not parts[1].isdigit():
                raise DatasetError(f"{where}: label {parts[1]!r} is not a number")
            if int(parts[1]) != cls.index:
                raise DatasetError(f"{where}: label {parts[1]} disagrees with classInd.txt "
                                   f"({cls.name} is {cls.index})")
        out.append(UCFVideo(parts[0], cls.name, cls.index))
    if not out:
        raise DatasetError(f"{path}: split list is empty (it comes from {SOURCE})")
    return tuple(out)


def find_split_dir(cfg: DatasetConfig, root) -> Path:
    root = Path(root)
    tried = []
    for rel in cfg.annotations.split_dirs:
        d = root / rel
        tried.append(d)
        if (d / cfg.annotations.class_index).is_file():
            return d
    raise DatasetError(f"{cfg.annotations.class_index} not found under {root} (tried "
                       f"{', '.join(map(str, tried))}); it comes from {SOURCE}")


def load_split(cfg: DatasetConfig, root, split: str = "train+test", fold: int = 1):
    """(classes, videos) of a split: 'train', 'test' or 'train+test' of fold 1..3."""
    if fold not in (1, 2, 3):
        raise ConfigError(f"UCF-101 fold must be 1, 2 or 3, got {fold}")
    parts = {"train": ["train"], "test": ["test"], "train+test": ["train", "test"]}.get(split)
    if parts is None:
        raise ConfigError(f"UCF-101 split must be train, test or train+test, got {split!r}")
    d = find_split_dir(cfg, root)
    classes = parse_class_index(d / cfg.annotations.class_index)
    videos = []
    for p in parts:
        videos.extend(parse_split_list(d / f"{p}list{fold:02d}.txt", classes))
    return classes, tuple(videos)


def find_video_dir(cfg: DatasetConfig, root) -> Path:
    root = Path(root)
    exts = tuple(e.lower() for e in cfg.real.extensions)
    for rel in cfg.real.video_dirs:
        d = root / rel
        if d.is_dir() and any(p.suffix.lower() in exts for p in d.rglob("*")):
            return d
    raise DatasetError(f"no {'/'.join(exts)} videos under {root} (tried "
                       f"{', '.join(cfg.real.video_dirs)}); they come from {VIDEO_SOURCE}")


def list_split_videos(cfg: DatasetConfig, root, split: str | None = None, fold: int | None = None):
    """(video_dir, files, missing): the videos of a split, sorted by relative path.

    'train+test' with no split lists present means every .avi under the video folder; otherwise
    the split lists decide and listed files that are absent are returned in `missing`.
    """
    split = split or cfg.real.split
    fold = fold or cfg.real.fold
    vdir = find_video_dir(cfg, root)
    exts = tuple(e.lower() for e in cfg.real.extensions)
    on_disk = sorted(p for p in vdir.rglob("*") if p.is_file() and p.suffix.lower() in exts)
    if split == "train+test":
        try:
            _, videos = load_split(cfg, root, split, fold)
        except DatasetError:
            return vdir, on_disk, []
    else:
        _, videos = load_split(cfg, root, split, fold)
    by_name = {p.name.lower(): p for p in on_disk}  # flat copies and class folders both work
    files, missing = [], []
    for v in videos:
        p = by_name.get(v.relpath.split("/", 1)[1].lower())
        (files if p is not None else missing).append(p if p is not None else v.relpath)
    return vdir, sorted(set(files)), missing


# --- prompts -------------------------------------------------------------------------------

def read_class_prompt_file(path, class_names) -> dict[str, str]:
    """Per-class prompts from a user file, e.g. the class sentences another paper used.

    .txt: one prompt per line in classInd order (blank lines and '#' comments skipped), exactly
    one per class. .toml (top level or a [prompts] table) / .json (object): ClassName = prompt,
    covering every class (names matched case-insensitively).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"prompt file {path} does not exist")
    names = list(class_names)
    lower = {n.lower(): n for n in names}
    suffix = path.suffix.lower()
    try:
        text = read_text(path, "prompt file")
        if suffix == ".txt":
            lines = [ln for _, ln in read_lines(path, "prompt file")]
            if len(lines) != len(names):
                raise ConfigError(f"prompt file {path}: {len(lines)} prompts for {len(names)} classes "
                                  f"(one line per class, in classInd.txt order)")
            return dict(zip(names, lines))
        if suffix == ".toml":
            table = tomllib.loads(text)
            table = table.get("prompts", table)
        elif suffix == ".json":
            table = json.loads(text)
        else:
            raise ConfigError(f"prompt file {path}: use .txt, .toml or .json")
    except (tomllib.TOMLDecodeError, ValueError) as e:
        if isinstance(e, ConfigError):
            raise
        raise ConfigError(f"prompt file {path}: cannot parse ({e})") from None
    if not isinstance(table, dict):
        raise ConfigError(f"prompt file {path}: expected a table of ClassName = prompt")
    out = {}
    for key, value in table.items():
        if key.lower() not in lower:
            raise ConfigError(f"prompt file {path}: unknown class {key!r}")
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"prompt file {path}: prompt for {key!r} must be a non-empty string")
        out[lower[key.lower()]] = value.strip()
    absent = [n for n in names if n not in out]
    if absent:
        raise ConfigError(f"prompt file {path}: no prompt for {len(absent)} classes, e.g. {absent[:3]}")
    return out


def class_balanced(class_names, n: int, seed: int) -> list[str]:
    """n class labels, each class used floor(n/C) or ceil(n/C) times, in seeded round-robin order.

    Round r is a fresh seeded permutation of all classes, so every prefix is balanced to within
    one and the first k labels do not depend on n (prefix-stable).
    """
    names = list(class_names)
    out: list[str] = []
    r = 0
    while len(out) < n:
        order = random.Random(derive_seed(seed, f"class-balanced/{r}")).sample(names, len(names))
        out.extend(order[: n - len(out)])
        r += 1
    return out


def ucf101_prompts(cfg: DatasetConfig, n=None, seed: int = 0, root=None, prompt_file=None) -> PromptSet:
    shipped = cfg.prompts.class_prompts
    extra = {}
    if root is not None:  # the user's classInd.txt decides the class list and its spelling
        root = cfg.resolve_root(root)
        d = find_split_dir(cfg, root)
        class_file = d / cfg.annotations.class_index
        names = [c.name for c in parse_class_index(class_file)]
        extra.update(class_index=class_file, class_index_sha256=sha256_of(class_file))
    else:
        names = list(shipped)
    if prompt_file is not None:
        per_class = read_class_prompt_file(prompt_file, names)
        extra.update(prompt_file=Path(prompt_file).resolve(), prompt_file_sha256=sha256_of(prompt_file))
    else:
        lower = {k.lower(): v for k, v in shipped.items()}
        per_class = {c: lower.get(c.lower()) or cfg.prompts.template.format(phrase=class_to_phrase(c))
                     for c in names}
        templated = [c for c in names if c.lower() not in lower]
        if templated:
            extra["templated_classes"] = templated
    n = int(n) if n is not None else cfg.prompts.default_n
    labels = class_balanced(names, n, seed)
    return PromptSet(
        dataset=cfg.name, sample_ids=make_sample_ids(cfg.name, n),
        prompts=tuple(per_class[c] for c in labels), labels=tuple(labels),
        video_ids=(None,) * n, seed=int(seed), sampling=cfg.prompts.sampling,
        provenance=base_provenance(cfg, num_classes=len(names), **extra))
