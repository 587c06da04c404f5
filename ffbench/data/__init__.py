"""Evaluation data: prompt sets (UCF-101 classes, MSR-VTT captions, the demo set) and real-video
sets with protocol-exact clip sampling.

Public API (what the harness and metrics use):
  load_prompts(dataset_name, n=None, seed=0, root=None, prompt_file=None, *, split=None,
               sampling=None) -> PromptSet
  real_video_set(source, protocol, root=None, *, num_videos=None, seed=0, split=None,
                 workers=None, progress=True, strict=False) -> RealVideoSet  (iterates RealClip)
  build_manifest(folder, files=None, frames=True, workers=None, progress=True) -> Manifest
  load_dataset_config(name_or_path) -> DatasetConfig;  dataset_names() -> list[str]
  demo: demo_items(), make_demo_video(i), write_demo(out_dir, fmt)

Dataset files live in ffbench/resources/datasets/*.toml (see ffbench/data/config.py).
Heavy imports (torch, av) happen inside functions, so importing this package is cheap.
"""
from .config import DatasetConfig, DatasetError, dataset_names, load_dataset_config
from .prompts import PromptItem, PromptSet, derive_seed, load_prompts

__all__ = [
    "DatasetConfig", "DatasetError", "dataset_names", "load_dataset_config",
    "PromptItem", "PromptSet", "derive_seed", "load_prompts",
    "ClipSpec", "RealClip", "RealVideoSet", "Manifest", "build_manifest", "real_video_set",
    "demo_items", "make_demo_video", "write_demo",
]

_LAZY = {
    "ClipSpec": "realvideos", "RealClip": "realvideos", "RealVideoSet": "realvideos",
    "Manifest": "realvideos", "build_manifest": "realvideos", "real_video_set": "realvideos",
    "demo_items": "demo", "make_demo_video": "demo", "write_demo": "demo",
}


def __getattr__(name):  # realvideos/demo import numpy; keep `import ffbench.data` light
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
