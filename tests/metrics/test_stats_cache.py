"""The statistics cache: hit, miss, and invalidation by each part of its key."""
import dataclasses

import numpy as np
import pytest
import torch

from ffbench import protocols
from ffbench.metrics.stats import GaussianStats, StatsCache, manifest_hash
from ffbench.weights import home


def _stats(seed=0):
    g = torch.Generator().manual_seed(seed)
    return GaussianStats.from_features(torch.randn(20, 8, generator=g))


def _dataset(tmp_path, contents=(b"a", b"bb", b"ccc")):
    d = tmp_path / "ds"
    d.mkdir(exist_ok=True)
    for i, c in enumerate(contents):
        (d / f"v{i}.npy").write_bytes(c)
    return sorted(d.iterdir()), d


def test_cache_lives_under_ffbench_home_and_hits(tmp_path):
    cache = StatsCache()
    assert cache.root == home() / "stats"
    p = protocols.get("fvd@stylegan-v-2048x16")
    paths, root = _dataset(tmp_path)
    man = manifest_hash(paths, root)
    assert cache.get(p, man, "w1") is None  # miss
    path = cache.put(p, man, "w1", _stats())
    assert path.exists() and path.parent == cache.root
    hit = cache.get(p, man, "w1")
    assert hit is not None and hit.n == 20
    np.testing.assert_array_equal(hit.sum_outer, _stats().sum_outer)
    assert cache.list() == [path]


def test_cache_invalidation(tmp_path):
    cache = StatsCache(tmp_path / "c")
    p = protocols.get("fvd@stylegan-v-2048x16")
    paths, root = _dataset(tmp_path)
    man = manifest_hash(paths, root)
    cache.put(p, man, "w1", _stats())
    # another protocol (any field that changes the hash), other weights: misses
    assert cache.get(dataclasses.replace(p, covariance="unbiased"), man, "w1") is None
    assert cache.get(protocols.get("fvd@videogpt"), man, "w1") is None
    assert cache.get(p, man, "w2") is None
    # the dataset changes: one file's content, a file added, the clip seed
    paths2, _ = _dataset(tmp_path, (b"a", b"bX", b"ccc"))
    assert manifest_hash(paths2, root) != man
    assert manifest_hash(paths, root, extra="clip-seed=1") != man
    paths3, _ = _dataset(tmp_path, (b"a", b"bb", b"ccc", b"dddd"))
    assert manifest_hash(paths3, root) != manifest_hash(paths3[:3], root)
    # a torn / foreign file under the right name is a miss, and put() replaces it
    paths4, _ = _dataset(tmp_path)
    man4 = manifest_hash(paths4, root)
    target = cache.path_for(p, man4, "w1")
    target.write_bytes(b"torn")
    assert cache.get(p, man4, "w1") is None
    cache.put(p, man4, "w1", _stats(1))
    assert cache.get(p, man4, "w1").n == 20
    # a file whose stored key does not match its name is a miss too
    s = GaussianStats.load(target)
    s.meta["weights_sha256"] = "other"
    s.save(target)
    assert cache.get(p, man4, "w1") is None


def test_torn_cache_file_is_a_logged_miss_and_a_named_file_is_an_error(tmp_path, caplog, capsys):
    from ffbench.cli import main
    from ffbench.metrics.stats import StatsError, load_stats

    cache = StatsCache(tmp_path / "c")
    p = protocols.get("fvd@stylegan-v-2048x16")
    paths, root = _dataset(tmp_path)
    man = manifest_hash(paths, root)
    path = cache.put(p, man, "w1", _stats())
    whole = path.read_bytes()
    # cut anywhere (a kill or a full disk mid-copy), or a byte flipped in the arrays' header
    flipped = bytearray(whole)
    flipped[whole.index(b"sum_outer") + 60] ^= 0xFF
    for i, damaged in enumerate([whole[:len(whole) // 2], whole[:-30], whole[:100], b"",
                                 bytes(flipped)]):
        path.write_bytes(damaged)
        caplog.clear()
        assert cache.get(p, man, "w1") is None, i
        assert any(str(path) in r.getMessage() and "recomputing" in r.getMessage()
                   for r in caplog.records), i
        cache.put(p, man, "w1", _stats(1))  # recomputed: replaced atomically
        assert cache.get(p, man, "w1").n == 20
        # the same file given by the user (--real X.npz, [real] stats) is an error naming it
        user = tmp_path / f"user{i}.npz"
        user.write_bytes(damaged)
        with pytest.raises(StatsError, match=f"{user.name}.*(damaged|statistics file)"):
            load_stats(user)
        assert main(["stats", "show", str(user)]) == 2
        err = capsys.readouterr().err
        assert str(user) in err and "Traceback" not in err


def test_unwritable_cache_is_logged_not_fatal_and_save_names_the_file(tmp_path, caplog):
    from ffbench.metrics.stats import StatsError

    (tmp_path / "file").write_text("x")
    cache = StatsCache(tmp_path / "file" / "cache")  # its folder cannot be created
    p = protocols.get("fvd@stylegan-v-2048x16")
    assert cache.put(p, "m", "w1", _stats()) is None
    assert any("not written" in r.getMessage() for r in caplog.records)
    assert cache.get(p, "m", "w1") is None
    with pytest.raises(StatsError, match="file/x.npz: cannot write statistics"):
        _stats().save(tmp_path / "file" / "x.npz")
    assert sorted(q.name for q in tmp_path.iterdir()) == ["file"]  # no temp files left
