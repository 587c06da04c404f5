"""Registry of every pretrained file ffbench can use, and their verified resolution.

Nothing is ever downloaded: users may be offline, and a benchmark must know exactly which bytes
produced a number. `resolve(name)` returns a verified local path or raises `WeightsMissing`
explaining what to download and where to put it. A sha256 mismatch is an error.

Where no sha256 is published upstream (most of these files, see
shared/reference/metrics.md §7), the first verified use records the digest in
``$FFBENCH_HOME/pins.json``; later uses must match that pin.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import FFBenchError
from .fileio import atomic_write_json, read_json, read_json_checked

__all__ = [
    "WeightFile",
    "WeightsError",
    "WeightsMissing",
    "WeightsMismatch",
    "REGISTRY",
    "get",
    "resolve",
    "resolve_verified",
    "sha256_of",
    "load_torch_file",
    "state_dict_problems",
    "home",
    "search_dirs",
]


class WeightsError(FFBenchError, RuntimeError):
    """Base class of weight-file problems."""


class WeightsMissing(WeightsError, FileNotFoundError):
    """A needed file is not on this machine; the message says where to get it and put it."""


class WeightsMismatch(WeightsError):
    """A file exists but its sha256 differs from the published or pinned digest."""


@dataclass(frozen=True)
class WeightFile:
    name: str  # registry key, used on the command line
    filename: str  # file (or directory) name looked up in the search directories
    url: str  # where a user downloads it
    used_by: str  # what needs it
    sha256: str | None = None  # published digest, when one exists
    size: int | None = None  # expected size in bytes, when known (a cheap first check)
    is_dir: bool = False  # a directory (e.g. a Hugging Face model folder), hashed by its file list
    note: str = ""
    also_in: str | None = None  # a tool's own cache searched last (e.g. the clip package's)


_w = WeightFile


# Sources: shared/reference/metrics.md §7 (metric networks), kandinsky_video.md §4 (FusionFrames).
REGISTRY: dict[str, WeightFile] = {
    w.name: w
    for w in [
        _w("i3d_torchscript", "i3d_torchscript.pt",
           "https://www.dropbox.com/s/ge9e5ujwgetktms/i3d_torchscript.pt?dl=1 "
           "(mirror: https://huggingface.co/flateon/FVD-I3D-torchscript)",
           "FVD stylegan-v protocols (StyleGAN-V I3D TorchScript detector)"),
        _w("i3d_pretrained_400", "i3d_pretrained_400.pt",
           "https://github.com/songweige/TATS/raw/main/tats/fvd/i3d_pretrained_400.pt "
           "(VideoGPT Google Drive id 1mQK8KD8G6UWRa5t87SRMm5PVXtlpneJT)",
           "FVD videogpt and cd-fvd-i3d protocols (TF-hub I3D converted to PyTorch)"),
        _w("c3d_ucf101", "c3d_ucf101.pt",
           "https://www.dropbox.com/s/jxpu7avzdc9n97q/c3d_ucf101.pt?dl=1",
           "IS c3d-ucf101 protocol (StyleGAN-V isv2048_ucf TorchScript C3D)"),
        _w("c3d_ucf101_tgan2", "conv3d_deepnetA_ucf.npz",
           "https://github.com/rezoo/tgan2/releases/download/v1.0/conv3d_deepnetA_ucf.npz",
           "extractor c3d-ucf101-tgan2 (TGAN2 Chainer C3D weights; pfnet-research/tgan2 README)"),
        _w("c3d_ucf101_mean", "mean2.npz",
           "https://github.com/rezoo/tgan2/releases/download/v1.0/mean2.npz",
           "extractor c3d-ucf101-tgan2 (C3D clip mean, key 'mean'; pfnet-research/tgan2 README)"),
        _w("clip_vit_b32", "ViT-B-32.pt",
           "https://openaipublic.azureedge.net/clip/models/"
           "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt",
           "CLIPSIM vit-b-32 (OpenAI CLIP)",
           # the clip package publishes each file's sha256 in its URL (clip/clip.py _MODELS)
           sha256="40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af",
           also_in="~/.cache/clip"),
        _w("clip_vit_b16", "ViT-B-16.pt",
           "https://openaipublic.azureedge.net/clip/models/"
           "5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f/ViT-B-16.pt",
           "CLIPSIM vit-b-16 (OpenAI CLIP)", also_in="~/.cache/clip",
           sha256="5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f"),
        _w("clip_vit_l14", "ViT-L-14.pt",
           "https://openaipublic.azureedge.net/clip/models/"
           "b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836/ViT-L-14.pt",
           "CLIPSIM vit-l-14 (OpenAI CLIP)", also_in="~/.cache/clip",
           sha256="b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836"),
        _w("lpips_alex_backbone", "alexnet-owt-7be5be79.pth",
           "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
           "LPIPS alex (torchvision ImageNet AlexNet backbone; lin layers ship with lpips)",
           note="torchvision names carry the first 8 hex digits of the sha256 (7be5be79)"),
        _w("lpips_vgg_backbone", "vgg16-397923af.pth",
           "https://download.pytorch.org/models/vgg16-397923af.pth",
           "LPIPS vgg (torchvision ImageNet VGG16 backbone)",
           note="torchvision names carry the first 8 hex digits of the sha256 (397923af)"),
        _w("fusionframes_keyframe", "kandinsky_video.pt",
           "https://huggingface.co/ai-forever/KandinskyVideo/resolve/main/weights/kandinsky_video.pt",
           "FusionFrames keyframe UNet + text projections + null embedding (16.6 GB)"),
        _w("fusionframes_interpolation", "kandinsky_video_interpolation.pt",
           "https://huggingface.co/ai-forever/KandinskyVideo/resolve/main/weights/"
           "kandinsky_video_interpolation.pt",
           "FusionFrames interpolation UNet + null embedding (15.5 GB)"),
        _w("fusionframes_movq", "movq.pt",
           "https://huggingface.co/ai-forever/KandinskyVideo/resolve/main/weights/movq.pt",
           "FusionFrames MoVQ image decoder (1.08 GB)"),
        _w("kandinsky_video_1_1_video_movq", "video_movq.pt",
           "https://huggingface.co/ai-forever/KandinskyVideo_1_1/resolve/main/video_movq.pt",
           "Kandinsky Video 1.1 temporal MoVQ decoder (3x3x3 conv + attention variant)"),
        _w("kandinsky3_unet", "kandinsky3.pt",
           "https://huggingface.co/ai-forever/Kandinsky3.0/resolve/main/weights/kandinsky3.pt",
           "Kandinsky 3.0 text-to-image UNet (initialises the spatial part)"),
        _w("flan_ul2_encoder", "flan-ul2",
           "https://huggingface.co/google/flan-ul2 (download the folder: config.json, tokenizer "
           "files and the safetensors/bin shards)",
           "FusionFrames text encoder (Flan-UL2, T5 encoder, 4096-d)", is_dir=True),
        # clean-fid's Inception (cleanfid/downloads_helper.py `inception_url`; InceptionV3W in
        # cleanfid/inception_torchscript.py loads it by this file name); no published sha256
        _w("cleanfid_inception", "inception-2015-12-05.pt",
           "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/"
           "inception-2015-12-05.pt",
           "frame FID/KID fid@clean-frames-* / kid@clean-frames-* (clean-fid's TorchScript "
           "Inception-v3, the StyleGAN2-ADA file)"),
        _w("vjepa2_vitl_ssv2", "vjepa2-vitl-fpc16-256-ssv2",
           "https://huggingface.co/facebook/vjepa2-vitl-fpc16-256-ssv2 (download the whole "
           "folder: config.json, the safetensors weights and the (video_)preprocessor config)",
           "JEDi-style distance jedi@vjepa2-* (V-JEPA 2 ViT-L/16 + SSv2 attentive probe, "
           "transformers VJEPA2ForVideoClassification)", is_dir=True),
    ]
}


def get(name: str) -> WeightFile:
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        from .errors import did_you_mean

        raise WeightsError(f"unknown weight file {name!r}.{did_you_mean(name, REGISTRY)} "
                           f"Known: {known}") from None


def home() -> Path:
    """ffbench's own directory: `$FFBENCH_HOME`, else `~/.cache/ffbench`."""
    env = os.environ.get("FFBENCH_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "ffbench"


def _torch_hub_checkpoints() -> Path:
    torch_home = os.environ.get("TORCH_HOME")
    base = Path(torch_home).expanduser() if torch_home else Path.home() / ".cache" / "torch"
    return base / "hub" / "checkpoints"


def search_dirs() -> list[Path]:
    """Directories searched, in order, after an explicit path."""
    dirs = []
    env = os.environ.get("FFBENCH_HOME")
    if env:
        dirs.append(Path(env).expanduser())
    dirs.append(Path.home() / ".cache" / "ffbench")
    dirs.append(_torch_hub_checkpoints())
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def sha256_of(path: Path, chunk: int = 1 << 22) -> str:
    """sha256 of a file; of a directory, of its sorted (relative name, file digest) list."""
    path = Path(path)
    h = hashlib.sha256()
    if path.is_dir():
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            h.update(f.relative_to(path).as_posix().encode() + b"\0")
            h.update(sha256_of(f).encode())
        return h.hexdigest()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def load_torch_file(path, error=None):
    """The object in a torch weights file (weights_only, on the CPU), memory-mapped when its
    format allows (full-size checkpoints are tens of GB; older non-zip pickles are read whole).
    An unreadable file is `error` (default WeightsError) naming it and the reason: the one
    reader of checkpoint files (FusionFrames UNets and text conditioning, MoVQ, I3D, LPIPS)."""
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # older pickles (not zip) cannot be memory-mapped
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - pickle / zip errors: the file, not a traceback
            raise (error or WeightsError)(f"{path}: cannot read as a torch checkpoint ({e})") from e


def state_dict_problems(model, state, allow_missing=frozenset(), limit: int = 5) -> str:
    """Empty when `state` holds exactly the keys and shapes of `model`'s state_dict (keys in
    `allow_missing` may be absent), else one line naming the missing keys, the unexpected keys
    and the shape mismatches (the first `limit` of each, sorted): the check every loader of a
    weights file (MoVQ, the FusionFrames UNets, I3D) makes before load_state_dict(strict=True),
    so a wrong file is one clear error naming what does not fit."""
    own = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = sorted(set(own) - set(state) - set(allow_missing))
    unexpected = sorted(set(state) - set(own))
    wrong = [f"{k}: file {tuple(state[k].shape)} vs model {own[k]}" for k in sorted(set(own) & set(state))
             if tuple(state[k].shape) != own[k]]
    parts = []
    for name, items in (("missing keys", missing), ("unexpected keys", unexpected),
                        ("shape mismatches", wrong)):
        if items:
            more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
            parts.append(f"{len(items)} {name}: {', '.join(items[:limit])}{more}")
    return "; ".join(parts)


# --- pins: digests recorded on first verified use ------------------------------------------

def _pins_path() -> Path:
    return home() / "pins.json"


def _load_pins() -> dict:
    p = _pins_path()
    if not p.exists():
        return {}
    return read_json_checked(p, "digest pins", "delete it to re-pin", WeightsError)


def _save_pin(name: str, digest: str, path: Path) -> None:
    pins = _load_pins()
    pins[name] = {"sha256": digest, "path": str(path)}
    atomic_write_json(_pins_path(), pins)


def _fingerprint(path: Path) -> list:
    """What must be unchanged for a remembered digest to stay valid: size, mtime, ctime and
    inode of the file, or of every file in a directory. ctime and inode catch what size+mtime
    miss: a file rewritten in place with its mtime set back (ctime moves, and nobody can set
    it), or replaced by a copy that kept the old mtime (new inode)."""
    def one(st):
        return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]

    if path.is_dir():
        return sorted([f.relative_to(path).as_posix(), *one(f.stat())]
                      for f in path.rglob("*") if f.is_file())
    return one(path.stat())


def _digests_path() -> Path:
    return home() / "digests.json"


def cached_digest(path: Path, trust_cache: bool = True) -> str:
    """sha256 of a file or directory, remembered across runs in `$FFBENCH_HOME/digests.json`.

    Checkpoints here are up to tens of GB (Flan-UL2, FusionFrames); re-hashing them on every
    run would cost minutes. With `trust_cache` the digest is reused while size, mtime, ctime
    and inode of every file are unchanged (a shortcut: it trusts the file system's metadata).
    `trust_cache=False` always hashes the bytes, as `ffbench weights verify` does, and
    refreshes the remembered digest.
    """
    path = Path(path).resolve()
    key, fp = str(path), _fingerprint(path)
    store = {}
    if _digests_path().exists():
        try:
            store = read_json(_digests_path())
        except (OSError, ValueError):
            store = {}  # a damaged cache only costs a re-hash
        if not isinstance(store, dict):
            store = {}
    entry = store.get(key)
    if trust_cache and isinstance(entry, dict) and entry.get("fingerprint") == fp:
        return entry["sha256"]
    digest = sha256_of(path)
    store[key] = {"fingerprint": fp, "sha256": digest}
    atomic_write_json(_digests_path(), store)
    return digest


def expected_sha256(name: str) -> tuple[str | None, str]:
    """(digest, origin) where origin is 'published', 'pinned' or 'unpinned'."""
    wf = get(name)
    if wf.sha256:
        return wf.sha256, "published"
    pin = _load_pins().get(name)
    if pin:
        return pin["sha256"], "pinned"
    return None, "unpinned"


def where(name: str) -> list[Path]:
    """Candidate locations, in resolution order (explicit paths excluded)."""
    wf = get(name)
    dirs = search_dirs()
    if wf.also_in:
        dirs.append(Path(wf.also_in).expanduser())
    return [d / wf.filename for d in dirs]


def _missing_message(wf: WeightFile, tried: list[Path]) -> str:
    lines = [
        f"weight file {wf.filename!r} ({wf.name}) is not on this machine.",
        f"  needed for: {wf.used_by}",
        f"  download:   {wf.url}",
        f"  put it at:  {home() / wf.filename}  (or pass its path explicitly)",
        "  looked in:  " + ", ".join(str(p) for p in tried),
        "  ffbench never downloads weights by itself; "
        f"`ffbench weights download {wf.name}` fetches and verifies it on request.",
    ]
    return "\n".join(lines)


def verify(name: str, path: Path, pin: bool = True, trust_cache: bool = True) -> str:
    """Check `path` against the published or pinned sha256; pin it on first use. Returns digest.

    `trust_cache=False` hashes the file even when `digests.json` remembers it (`cached_digest`).
    """
    wf = get(name)
    path = Path(path)
    if wf.size is not None and not path.is_dir() and path.stat().st_size != wf.size:
        raise WeightsMismatch(
            f"{path}: size {path.stat().st_size} bytes, expected {wf.size} for {wf.name}; "
            f"re-download it from {wf.url}"
        )
    digest = cached_digest(path, trust_cache=trust_cache)
    expected, origin = expected_sha256(name)
    if expected is not None and digest != expected:
        raise WeightsMismatch(
            f"{path}: sha256 {digest} does not match the {origin} digest {expected} of {wf.name}; "
            f"re-download it from {wf.url}"
            + (f" or delete the pin in {_pins_path()} if you replaced it on purpose"
               if origin == "pinned" else "")
        )
    if expected is None and pin:
        _save_pin(name, digest, path)
    return digest


def resolve(name: str, path: str | os.PathLike | None = None, verify_digest: bool = True,
            trust_cache: bool = True) -> Path:
    """Verified local path of a registered file.

    Order: explicit `path` > `$FFBENCH_HOME` > `~/.cache/ffbench` > the torch hub cache.
    `trust_cache=False` re-hashes instead of trusting a remembered digest (`weights verify`).
    """
    wf = get(name)
    if path is not None:
        candidates = [Path(path).expanduser()]
        if candidates[0].is_dir() and not wf.is_dir:
            candidates = [candidates[0] / wf.filename]
    else:
        candidates = where(name)
    for cand in candidates:
        if cand.exists() and (cand.is_dir() == wf.is_dir):
            if verify_digest:
                verify(name, cand, trust_cache=trust_cache)
            return cand
    raise WeightsMissing(_missing_message(wf, candidates))


def resolve_verified(name: str, path=None) -> tuple[Path, str]:
    """(verified local path, its sha256) of a registered file: what a loader records beside
    its numbers. The file is verified once (`resolve` then `verify` would check it twice)."""
    p = resolve(name, path, verify_digest=False)
    return p, verify(name, p)


def status(name: str) -> dict:
    """What `ffbench weights list/where` shows for one file (no hashing)."""
    wf = get(name)
    found = next((p for p in where(name) if p.exists()), None)
    expected, origin = expected_sha256(name)
    return {
        "name": wf.name,
        "filename": wf.filename,
        "url": wf.url,
        "used_by": wf.used_by,
        "sha256": expected,
        "sha256_origin": origin,
        "size": wf.size,
        "expected_location": str(home() / wf.filename),
        "found": str(found) if found else None,
    }
