"""Opt-in, verified downloads of the weight files in `ffbench.weights.REGISTRY`.

Nothing in ffbench downloads implicitly (users may be offline, and a benchmark must know which
bytes produced a number): only `ffbench weights download NAME... | --for PROTOCOL | --all`
calls this module. Each file lands at `ffbench.weights.home() / filename`
(`$FFBENCH_HOME`, else `~/.cache/ffbench`), where `weights.resolve` finds it.

Every download follows the same rule, the one torch-fidelity / clean-fid / torchvision follow:

1. plain URLs are fetched with `requests` (streaming) into ``<file>.part``; an existing
   ``.part`` is resumed with an HTTP ``Range`` request (a server that ignores it restarts the
   file); a dropped connection is retried a bounded number of times, then the ``.part`` is kept
   and the error says to run the command again;
   Hugging Face files go through `huggingface_hub` (`hf_hub_download` / `snapshot_download`,
   which resume on their own) into a staging folder under ``$FFBENCH_HOME/.downloads``;
2. the sha256 of the complete file (or folder, hashed as `weights.sha256_of` hashes folders) is
   checked against the published digest, or the digest pinned by an earlier verified use
   (``pins.json``) *before* the file is renamed into place; a wrong digest deletes the
   downloaded data and says so (`DigestMismatch`);
3. the rename is atomic (same directory tree), so a half-written file is never at the final
   path; a file with no published or pinned digest is pinned on this first download
   (trust on first use, stated in the output).

Progress bars are tqdm on stderr. Errors derive from `ffbench.errors.FFBenchError` and name
the URL, the file and the reason.
"""
from __future__ import annotations

import fcntl
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from . import weights
from .errors import FFBenchError

__all__ = ["Source", "SOURCES", "GROUPS", "DownloadError", "DigestMismatch", "DownloadInterrupted",
           "names_for", "download", "fetch_url"]


class DownloadError(FFBenchError):
    """A download failed (HTTP error, offline, unknown source); the message names URL and file."""


class DigestMismatch(DownloadError):
    """The downloaded bytes do not have the expected sha256; the downloaded data was deleted."""


class DownloadInterrupted(DownloadError):
    """The transfer stopped early; the partial file is kept so the next attempt resumes."""


@dataclass(frozen=True)
class Source:
    """Where the bytes of one registry file come from: a plain `url`, or a Hugging Face
    `repo_id` with a `filename` in it (None: the whole snapshot, for folder entries)."""

    url: str | None = None
    repo_id: str | None = None
    filename: str | None = None
    revision: str = "main"
    allow_patterns: tuple[str, ...] | None = None

    def describe(self) -> str:
        if self.url:
            return self.url
        what = self.filename or "snapshot " + ",".join(self.allow_patterns or ("*",))
        return f"hf://{self.repo_id}@{self.revision}/{what}"


# The machine-readable form of each registry entry's `url` text (ffbench/weights.py), first
# source only; shared/reference/metrics.md §7 and kandinsky_video.md §4.
_AZURE = "https://openaipublic.azureedge.net/clip/models"
SOURCES: dict[str, Source] = {
    "i3d_torchscript": Source(url="https://www.dropbox.com/s/ge9e5ujwgetktms/i3d_torchscript.pt?dl=1"),
    "i3d_pretrained_400": Source(url="https://github.com/songweige/TATS/raw/main/tats/fvd/i3d_pretrained_400.pt"),
    "c3d_ucf101": Source(url="https://www.dropbox.com/s/jxpu7avzdc9n97q/c3d_ucf101.pt?dl=1"),
    "c3d_ucf101_tgan2": Source(url="https://github.com/rezoo/tgan2/releases/download/v1.0/conv3d_deepnetA_ucf.npz"),
    "c3d_ucf101_mean": Source(url="https://github.com/rezoo/tgan2/releases/download/v1.0/mean2.npz"),
    "clip_vit_b32": Source(url=f"{_AZURE}/40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt"),
    "clip_vit_b16": Source(url=f"{_AZURE}/5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f/ViT-B-16.pt"),
    "clip_vit_l14": Source(url=f"{_AZURE}/b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836/ViT-L-14.pt"),
    "lpips_alex_backbone": Source(url="https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"),
    "lpips_vgg_backbone": Source(url="https://download.pytorch.org/models/vgg16-397923af.pth"),
    "fusionframes_keyframe": Source(repo_id="ai-forever/KandinskyVideo", filename="weights/kandinsky_video.pt"),
    "fusionframes_interpolation": Source(repo_id="ai-forever/KandinskyVideo",
                                         filename="weights/kandinsky_video_interpolation.pt"),
    "fusionframes_movq": Source(repo_id="ai-forever/KandinskyVideo", filename="weights/movq.pt"),
    "kandinsky_video_1_1_video_movq": Source(repo_id="ai-forever/KandinskyVideo_1_1", filename="video_movq.pt"),
    "kandinsky3_unet": Source(repo_id="ai-forever/Kandinsky3.0", filename="weights/kandinsky3.pt"),
    # the folder transformers' T5EncoderModel/AutoTokenizer.from_pretrained read (PyTorch shards)
    "flan_ul2_encoder": Source(repo_id="google/flan-ul2",
                               allow_patterns=("*.json", "*.model", "pytorch_model*.bin")),
    "cleanfid_inception": Source(url="https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/"
                                     "pretrained/metrics/inception-2015-12-05.pt"),
    # the folder transformers' VJEPA2ForVideoClassification.from_pretrained reads
    "vjepa2_vitl_ssv2": Source(repo_id="facebook/vjepa2-vitl-fpc16-256-ssv2",
                               allow_patterns=("*.json", "*.safetensors")),
}

# `--for` targets that are not protocols: what a model or an extractor needs.
GROUPS: dict[str, tuple[str, ...]] = {
    "fusionframes": ("fusionframes_keyframe", "fusionframes_interpolation", "fusionframes_movq",
                     "flan_ul2_encoder"),
    "c3d-ucf101-tgan2": ("c3d_ucf101_tgan2", "c3d_ucf101_mean"),
}


def names_for(target: str) -> list[str]:
    """Registry names a protocol (e.g. `fvd@stylegan-v-2048x16`) or a group (`fusionframes`)
    needs. Raises `DownloadError` naming the known targets."""
    if target in GROUPS:
        return list(GROUPS[target])
    from . import protocols

    if target not in protocols.PROTOCOLS:
        known = ", ".join(sorted(protocols.PROTOCOLS) + sorted(GROUPS))
        raise DownloadError(f"--for {target!r}: not a protocol or group; known: {known}")
    proto = protocols.get(target)
    if proto.metric == "reconstruction":
        return [f"lpips_{proto.lpips_net}_backbone"]
    names = [proto.weights]
    if getattr(proto, "extractor", None) in GROUPS:
        names += [n for n in GROUPS[proto.extractor] if n not in names]
    return names


def _source(name: str) -> Source:
    weights.get(name)  # unknown names: WeightsError listing the known ones
    try:
        return SOURCES[name]
    except KeyError:
        raise DownloadError(f"{name}: no download source is known; get it by hand from "
                            f"{weights.get(name).url}") from None


# --- plain URLs ------------------------------------------------------------------------------

# Bytes read per write: a dropped connection loses at most the block being read (urllib3 drops
# a short read), so blocks are kept small next to multi-GB files.
_CHUNK = 1 << 16

def _progress(total: int | None, initial: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="B", unit_scale=True,
                unit_divisor=1024, file=sys.stderr, disable=not enabled, leave=False)


def _total_from_content_range(value: str | None) -> int | None:
    m = re.match(r"bytes (?:\d+-\d+|\*)/(\d+)", value or "")
    return int(m.group(1)) if m else None


def _transfer(session, url: str, part: Path, *, timeout: float, progress: bool, desc: str) -> None:
    """One HTTP attempt: resume `part` from its current size, or start it afresh.

    Raises DownloadInterrupted (retryable, partial kept) or DownloadError (not retryable)."""
    import requests

    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        with session.get(url, stream=True, timeout=(min(timeout, 30.0), timeout), headers=headers,
                         allow_redirects=True) as r:
            if r.status_code == 416 and offset:  # nothing after offset: complete, or a stale part
                if _total_from_content_range(r.headers.get("Content-Range")) == offset:
                    return
                part.unlink()
                raise DownloadInterrupted(f"{url}: server refused to resume at byte {offset}; "
                                          f"the stale partial file {part} was deleted")
            if r.status_code >= 500:
                raise DownloadInterrupted(f"{url}: HTTP {r.status_code} {r.reason}")
            if r.status_code not in (200, 206):
                raise DownloadError(f"{url}: HTTP {r.status_code} {r.reason}")
            if r.status_code == 206:
                start = re.match(r"bytes (\d+)-", r.headers.get("Content-Range", ""))
                if not start or int(start.group(1)) != offset:
                    raise DownloadError(f"{url}: asked to resume at byte {offset}, server sent "
                                        f"{r.headers.get('Content-Range')!r}")
                mode, total = "ab", _total_from_content_range(r.headers.get("Content-Range"))
            else:  # 200: the server ignores Range (or there was no partial file): start afresh
                offset, mode = 0, "wb"
                length = r.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
            with open(part, mode) as fh, _progress(total, offset, desc, progress) as bar:
                for block in r.iter_content(chunk_size=_CHUNK):
                    fh.write(block)
                    bar.update(len(block))
                fh.flush()
                os.fsync(fh.fileno())
    except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as e:
        have = part.stat().st_size if part.exists() else 0
        raise DownloadInterrupted(f"{url}: transfer interrupted at byte {have} ({type(e).__name__}: {e})") from e
    have = part.stat().st_size
    if total is not None and have != total:
        raise DownloadInterrupted(f"{url}: transfer ended at byte {have} of {total}")


def fetch_url(url: str, dest: Path, expected_sha256: str | None, *, origin: str = "published",
              retries: int = 3, timeout: float = 60.0, progress: bool = True, session=None,
              desc: str | None = None) -> str:
    """Download `url` to `dest` via ``dest.part`` (resumed if present); check the sha256 before
    the atomic rename. Returns the digest. At most `retries` + 1 HTTP attempts."""
    import requests

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    lock = open(dest.with_name(dest.name + ".lock"), "w")
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DownloadError(f"{dest}: another process is downloading it right now") from None
        own = session is None
        session = session or requests.Session()
        try:
            for attempt in range(retries + 1):
                try:
                    _transfer(session, url, part, timeout=timeout, progress=progress,
                              desc=desc or dest.name)
                    break
                except DownloadInterrupted as e:
                    if attempt == retries:
                        kept = (f"the partial file {part} ({part.stat().st_size} bytes) is kept: run "
                                "the same command again to resume") if part.exists() else "nothing was kept"
                        raise DownloadInterrupted(f"{e}; gave up after {retries + 1} attempts; {kept}") from e
                    print(f"ffbench: {e}; retrying ({attempt + 1}/{retries})", file=sys.stderr)
        finally:
            if own:
                session.close()
        digest = weights.sha256_of(part)
        if expected_sha256 is not None and digest != expected_sha256:
            part.unlink()
            raise DigestMismatch(f"{url}: sha256 {digest} does not match the {origin} digest "
                                 f"{expected_sha256}; deleted the downloaded partial file {part}")
        os.replace(part, dest)
        return digest
    finally:
        lock.close()
        Path(lock.name).unlink(missing_ok=True)


# --- Hugging Face ----------------------------------------------------------------------------

def _fetch_hf(src: Source, dest: Path, expected: str | None, *, origin: str, progress: bool,
              name: str) -> str:
    """hf_hub_download / snapshot_download into a staging folder next to `dest`, digest check,
    atomic rename. huggingface_hub resumes its own incomplete files in that staging folder."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        raise DownloadError(f"{name}: HF_HUB_OFFLINE is set, so huggingface_hub will not download "
                            f"{src.describe()}; unset it for this command (tox sets it for the tests)")
    import huggingface_hub as hf

    if not progress:
        hf.utils.disable_progress_bars()
    staging = weights.home() / ".downloads" / name
    staging.mkdir(parents=True, exist_ok=True)
    try:
        if src.filename:
            got = Path(hf.hf_hub_download(src.repo_id, src.filename, revision=src.revision,
                                          local_dir=staging))
        else:
            got = Path(hf.snapshot_download(src.repo_id, revision=src.revision,
                                            local_dir=staging / "snapshot",
                                            allow_patterns=list(src.allow_patterns or ["*"])))
            shutil.rmtree(got / ".cache", ignore_errors=True)  # hub metadata, not model files
    except Exception as e:  # network, auth, missing file: huggingface_hub's own types
        raise DownloadError(f"{name}: huggingface_hub could not download {src.describe()}: "
                            f"{type(e).__name__}: {e}") from e
    digest = weights.sha256_of(got)
    if expected is not None and digest != expected:
        shutil.rmtree(staging, ignore_errors=True)
        raise DigestMismatch(f"{src.describe()}: sha256 {digest} does not match the {origin} "
                             f"digest {expected} of {name}; deleted the downloaded data {got}")
    os.replace(got, dest)
    shutil.rmtree(staging, ignore_errors=True)
    return digest


# --- one registry entry ----------------------------------------------------------------------

def download(name: str, *, progress: bool = True, retries: int = 3, timeout: float = 60.0,
             session=None) -> dict:
    """Make registry file `name` present and verified; download only when it is missing.

    Returns {"name", "status": "present"|"downloaded", "path", "sha256", "sha256_origin",
    "source"}; `sha256_origin` is "published", "pinned", or "pinned-now" (trust on first use).
    Raises DownloadError / DigestMismatch / DownloadInterrupted, or WeightsMismatch when a file
    already at its place has the wrong digest (it is never overwritten silently).
    """
    wf = weights.get(name)
    src = _source(name)
    try:
        path = weights.resolve(name)
        digest, origin = weights.expected_sha256(name)
        return {"name": name, "status": "present", "path": str(path), "sha256": digest,
                "sha256_origin": origin, "source": src.describe()}
    except weights.WeightsMissing:
        pass
    expected, origin = weights.expected_sha256(name)
    dest = weights.home() / wf.filename
    if src.url:
        digest = fetch_url(src.url, dest, expected, origin=origin, retries=retries, timeout=timeout,
                           progress=progress, session=session, desc=name)
    else:
        digest = _fetch_hf(src, dest, expected, origin=origin, progress=progress, name=name)
    weights.verify(name, dest)  # pins an unpublished digest now; remembers it for later uses
    return {"name": name, "status": "downloaded", "path": str(dest), "sha256": digest,
            "sha256_origin": origin if expected else "pinned-now", "source": src.describe()}
