"""ClipLoader as the engine's one decoding path (issue 18): whole-video requests, failure
details a caller can record as if raised in-process, and the process-wide worker default."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ffbench.clips import ClipSpec
from ffbench.video import loader as L


def test_whole_video_requests_and_failure_details(tmp_path):
    a = np.random.default_rng(0).integers(0, 256, (7, 8, 8, 3), dtype=np.uint8)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "short.npy", a[:3])
    (tmp_path / "broken.mp4").write_bytes(b"junk" * 40)
    rule = ClipSpec("first", 5)
    reqs = [L.ClipRequest(tmp_path / "a.npy", 0, None),           # whole video (CLIPSIM)
            L.ClipRequest(tmp_path / "short.npy", rule, 5, 1, "s"),
            L.ClipRequest(tmp_path / "broken.mp4", 0, None),
            L.ClipRequest(tmp_path / "gone.npy", rule, 5)]
    for workers in (0, 2):
        loader = L.ClipLoader(reqs, workers)
        items = list(loader)
        assert [it.index for it in items] == [0, 1, 2, 3]
        assert torch.equal(items[0].clip, torch.from_numpy(a)) and loader.frames[0] == 7
        assert 0 not in loader.failures
        short = loader.failures[1]
        assert items[1].error == "too short (3 frames < 5)" and short.kind == "short"
        # the clip rule's own exception text: what an in-process ClipSpec.read would raise
        assert short.exception.startswith("ShortVideoError: too short: 3 frames < 5 (first clip")
        broken = loader.failures[2]
        assert broken.kind == "corrupt" and broken.exception.startswith("VideoError: ")
        assert "broken.mp4" in broken.exception and "Traceback" in broken.traceback
        assert loader.failures[3].kind == "missing" and items[3].error == "missing: file does not exist"


def test_decode_workers_sets_the_default_for_the_block():
    base = L.default_workers()
    assert base >= 0
    with L.decode_workers(0):
        assert L.default_workers() == 0 and L.ClipLoader([("x.npy", 0, 1)] * 3).num_workers == 0
        with L.decode_workers(2):
            assert L.ClipLoader([("x.npy", 0, 1)] * 3).num_workers == 2
            assert L.ClipLoader([("x.npy", 0, 1)]).num_workers == 1  # never more than items
        assert L.default_workers() == 0
    with L.decode_workers(None):
        assert L.default_workers() == base
    assert L.default_workers() == base
    with pytest.raises(ValueError, match="workers must be >= 0"):
        with L.decode_workers(-1):
            pass


def test_a_consumer_that_stops_early_ends_the_workers(tmp_path):
    import multiprocessing

    before = set(multiprocessing.active_children())
    np.save(tmp_path / "a.npy", np.zeros((4, 4, 4, 3), np.uint8))
    it = iter(L.ClipLoader([(tmp_path / "a.npy", 0, 2)] * 6, 2))
    first = next(it)
    assert first.error is None and first.clip.shape == (2, 4, 4, 3)
    assert len(set(multiprocessing.active_children()) - before) == 2
    it.close()  # no hang, no leaked worker processes
    assert set(multiprocessing.active_children()) - before == set()
