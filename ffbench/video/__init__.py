"""Video files, arrays, frame folders and in-memory objects in, uint8 `[T, H, W, 3]` RGB out — and back.

Modules (each states its rules and reference):
  core      the convention, `to_uint8` value rules, `as_video` (diffusers outputs), frame sampling
  listing   `list_videos` -> `VideoListing` (videos + skipped with reasons), natural order
  reader    `probe`, `read_video`, `read_clip` (seek + bounded memory) for every input kind
  container PyAV side of reader: packet index, timestamps, alpha, seeking clip decode
  writer    mp4 / npy / GIF / WebP writing
  loader    `ClipLoader`: clips of many files through DataLoader workers, errors per item
Every name that `ffbench.video` exported as a single module is still importable from here.
"""
from __future__ import annotations

from .core import (VideoError, as_video, central_n, consecutive, every_kth, first_n, num_clips,
                   to_float01, to_uint8, validate_video)
from .listing import (ARRAY_EXTENSIONS, CONTAINER_EXTENSIONS, FRAME_EXTENSIONS, VIDEO_EXTENSIONS,
                      VideoListing, list_videos, natural_key)
from .reader import NPZ_KEY, VideoInfo, probe, read_clip, read_video, video_info
from .writer import MP4_CRF, write_preview, write_video

__all__ = [
    "VideoError", "VIDEO_EXTENSIONS", "CONTAINER_EXTENSIONS", "ARRAY_EXTENSIONS",
    "FRAME_EXTENSIONS", "NPZ_KEY", "MP4_CRF",
    "read_video", "read_clip", "probe", "VideoInfo", "video_info", "as_video",
    "write_video", "write_preview", "list_videos", "VideoListing", "natural_key",
    "validate_video", "to_uint8", "to_float01", "first_n", "consecutive", "every_kth",
    "central_n", "num_clips", "ClipLoader", "ClipRequest",
]


def __getattr__(name):  # the loader imports torch.utils.data: load it only when asked for
    if name in ("ClipLoader", "ClipRequest"):
        from . import loader

        return getattr(loader, name)
    raise AttributeError(f"module 'ffbench.video' has no attribute {name!r}")
