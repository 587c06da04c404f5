"""Hashes that bind run directories and reports to their configs must never change.

A run directory is bound to its config by `RunConfig.hash` (resume refuses another config), a run
records `ModelConfig.hash` of its model TOML, and a report prints each dataset file's sha256. These
values were computed from the shipped files *before* the config validators were folded into one
pydantic mechanism (ffbench.schema, issue #16) and are asserted after it: a change of validation
code that changed a hash would orphan every existing run directory. Besides the hashes, a digest
of each parsed object's `to_dict()` pins what validation produces (e.g. `fps = 8` read as 8.0).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import pytest

import ffbench
from ffbench.data.config import load_dataset_config
from ffbench.generators.config import load_config
from ffbench.generators.fusionframes import FusionFramesOptions
from ffbench.harness.config import parse_run_config

RESOURCES = Path(ffbench.__file__).resolve().parent / "resources"

# name -> [ModelConfig.hash, digest of to_dict() without `path`]
MODELS = {
    "animatediff-sd15": ["d5b697203408bd5680d2a0da65308dfde07803fb7706cc0a0abd1bc45e56445d", "1b9bc279728c06ef"],
    "cogvideo-en": ["8e78a259dff5c56a4b0eb24fdbac7898e9c063d99898b65405057901014cb73f", "5db7689114b87e15"],
    "cogvideo-zh": ["e5a7c6e464e24ca5b5b0bfb501360c25ae966a98af23999ea228c01bb403e417", "bb9f782f664c1333"],
    "cogvideox-2b": ["0c81efe7cb9ce279e83e94250969b71e6d2b2b62c711fa2778cba5af7b341e1e", "6f960e44748554c6"],
    "cogvideox-5b": ["3559a54d21ad74f27fa05a08c277ea9e82c406a189446a2e19a159a3bc2c8652", "22a86d61a7991d5e"],
    "fusionframes-tiny": ["be6bd8e0a87ed474259bb1f362ef545ecbe793499a08640b3cafea723a4bbbfa", "c7b93536dde118e8"],
    "fusionframes": ["5ab8e7248f8c677c497f3a93f16af0c457956c10fc183f7f884e9fc27f8793c4", "247a044b939142e5"],
    "godiva": ["0e7ed1412f4f59f5150587917ad95eb928687ebbc4da24a4050472e11940a893", "e21de0ddad36b55b"],
    "hunyuanvideo": ["4554ba135c77f620b39aaa16abe11bf47c4a453e375afa86f54a1698c2bb4c02", "564b44b5d677d05a"],
    "kandinsky3-frames": ["58e3a75c42b11e4af77aeb667ca74386a99f502b90e03a5d48f0eb0f68849f4e", "f3211838be63592d"],
    "latte-1": ["a1e50191567cca91e7e19c72ccfa181009d1321a1a2c879c8a2954a71c5db728", "cc94707f19349c37"],
    "lavie": ["34609491810be8ca28261333b21f68cb3541565533a652b9a11a819163cdd867", "4d54fe6021736524"],
    "ltx-video": ["dec7a5cc7cb011f4d13fd6c325ed7cac244d56b2fccbd794260fe4ebbe8208c2", "33b3cbbccfd22985"],
    "lvdm": ["b5557eba7fbb35fb06a74f129eb404ae2e503578bd53ad2394e220a0c26f18af", "7b6727d67475aa68"],
    "magicvideo": ["7844ac27c71d849a4bf4dfd11daeb61e00f3cfcc269eacad086a6d927b9e3d28", "0ffc06647ee4bcf8"],
    "make-a-video": ["f8d727416c4e8e966505b4adb541914533658beab423e0b6b0cf1e90e88bc36d", "7b346831921c4148"],
    "mochi-1": ["58bb4da2fb975988ab162e58c8044a1a78616f2d5f146d6381a1373e20012def", "73fd83832682ce15"],
    "modelscope-1.7b": ["41022235a085c77520f747a7846398136ab00367ff1172351364678e91549d57", "4f5e851a09ab4f33"],
    "nuwa": ["b67651c66b994919490b840019d5adaf97641f2b95c702ec64db6a90299b3cfe", "752ba04a06244011"],
    "text2video-zero": ["4e086d36536477f1d837e0ca4183db8d744f6342e5405d0d3edeb1a337c59a75", "13f0eb5f12fefb57"],
    "tiny-diffusers": ["cfed7f9488949a4485f2715768bbcd512b527729d89152acfedeec9b858c3374", "00482e5e4c906eb4"],
    "video-ldm": ["862219fc70ec33cac12f38b90b05e8a443bbb080890aae628a53719b4b06e0a0", "08aeba5898f1f3a1"],
    "wan2.1-t2v-1.3b": ["fd696d6b58f65207704a76de13343d97056cfd6529b202ec26ecf913237f871c", "50100ae72fbade99"],
    "zeroscope-v2-576w": ["c9688480dda5d882e44765305cfc4a014c66878fabec3bbb5fe8d24f685d0d5a", "18054c54f96729c3"],
}
# name -> [file sha256, digest of to_dict() without `file`]
DATASETS = {
    "demo": ["c83cf6996616341c2ed488695b0879c7ddde2c141eb2a0c7adf73462d5f21658", "eebe2651d2c49a88"],
    "msrvtt": ["5b55d2ca2596502f3d9bfcdabde06290dd5ded98f195eab563eb9956996fd82c", "e86f5e5d5a50896b"],
    "ucf101": ["49a5114f8cfca9366279ca8c177b1f15c9d25a817d369664083b9a453cb9e680", "cce6c0c0124fc484"],
}
# name -> digest of the FusionFramesOptions of the model's [fusionframes] table
FUSIONFRAMES = {
    "fusionframes-tiny": "84b001768033c28a",
    "fusionframes": "f82a84b2369593c7",
}
# (table, check_model) as the demo, `generate`, `evaluate` and the harness tests build them
RUNS = {
    "demo": ({"model": "fusionframes-tiny", "model_overrides": {"steps": 2}, "dataset": "demo", "n": 8,
              "seed": 0, "metrics": ["fvd", "is", "clipsim"], "random_weights": True,
              "random_extractors": True, "real": {"num_videos": 8}, "out": "o", "db": "d"}, True),
    "diffusers": ({"model": "tiny-diffusers", "dataset": "demo", "metrics": ["fvd@stylegan-v-2048x16"],
                   "model_overrides": {"fps": 8, "guidance": 7.5, "frames": 8}, "resolution": 32,
                   "random_extractors": True}, True),
    "harness": ({"model": "harness_fakes:make", "dataset": "demo", "n": 12, "seed": 3,
                 "metrics": ["fvd@stylegan-v-2048x16", "is@c3d-ucf101"], "random_extractors": True,
                 "feature_batch_size": 4, "extractors": {"i3d-torchscript": "harness_fakes:tiny_extractor",
                                                         "c3d-ucf101": "harness_fakes:tiny_extractor"},
                 "out": "x", "db": "none"}, False),
    "generate": ({"model": "zeroscope-v2-576w", "dataset": "ucf101", "metrics": [], "n": 4, "seed": 1,
                  "batch_size": 2, "model_overrides": {"fps": 7.5},
                  "real": {"source": "msrvtt", "root": "/r", "seed": 2, "stats": "s.npz"},
                  "dataset_root": "/d", "prompt_file": "p.txt", "device": "cpu"}, True),
    "evaluate": ({"model": "vids", "dataset": "custom", "metrics": ["kvd"], "source": "/v",
                  "feature_batch_size": 2, "bootstrap": 10, "workers": 0}, False),
}
# name -> [RunConfig.hash, digest of to_dict() without `workers` (its default depends on the CPUs)]
RUN_HASHES = {
    "demo": ["3faefe0b53f08b766168dc2d1b74f61d698e2ba09c0f520efd3a99cffc9fdd90", "509a1d581cee7da7"],
    "diffusers": ["ac15d84bf8a3ec62c4ad0144435a47fb10e4acac91dd8cd214caea4ee6cbf89a", "7aa47bddd3b022b1"],
    "harness": ["392a1b2203c94e38690c214cff340126f1bc233306734a892aed24dea420783c", "804b8be935dad3b3"],
    "generate": ["fa47435dd1f4ed35146bcc702818dbc3c1e78ac81721e28eaa043cd19e5056fc", "dea9a42f0cf71c2a"],
    "evaluate": ["421337e9b890f6cda46e4ec3f7d2d4723c0ec3f765a48140b4a6cf420dc7713e", "32c6900ddda9e34f"],
}


def _digest(d: dict) -> str:
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


@pytest.fixture(autouse=True)
def _shipped_files_only(monkeypatch):
    monkeypatch.delenv("FFBENCH_BASELINES", raising=False)
    monkeypatch.delenv("FFBENCH_DATASETS", raising=False)


def test_every_shipped_model_and_dataset_is_pinned():
    assert sorted(MODELS) == sorted(f.stem for f in (RESOURCES / "baselines").glob("*.toml"))
    assert sorted(DATASETS) == sorted(f.stem for f in (RESOURCES / "datasets").glob("*.toml"))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_config_hash_is_unchanged(name):
    path = RESOURCES / "baselines" / f"{name}.toml"
    cfg = load_config(path)
    d = cfg.to_dict()
    assert d.pop("path") == str(path)
    assert [cfg.hash, _digest(d)] == MODELS[name]
    if name in FUSIONFRAMES:
        options = FusionFramesOptions.from_table(cfg.fusionframes, str(path))
        assert _digest(asdict(options)) == FUSIONFRAMES[name]


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_dataset_sha256_is_unchanged(name):
    cfg = load_dataset_config(RESOURCES / "datasets" / f"{name}.toml")
    d = cfg.to_dict()
    d.pop("file")
    assert [cfg.sha256, _digest(d)] == DATASETS[name]


@pytest.mark.parametrize("name", sorted(RUNS))
def test_run_config_hash_is_unchanged(name):
    table, check_model = RUNS[name]
    cfg = parse_run_config(table, "<pin>", check_model=check_model)
    d = cfg.to_dict()
    d.pop("workers")
    assert [cfg.hash, _digest(d)] == RUN_HASHES[name]
    assert cfg.with_execution(out="elsewhere", db="none", workers=0).hash == cfg.hash
