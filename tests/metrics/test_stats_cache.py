"""The real side's cache (harness.realstats.RealFeatureCache): hit, miss, invalidation by each
part of its key, torn files, an unwritable cache, and FVD statistics from a cache hit equal to
fresh ones bit for bit."""
import dataclasses

import numpy as np
import pytest

from ffbench import protocols
from ffbench.harness.realstats import RealFeatureCache
from ffbench.metrics.stats import GaussianStats, manifest_hash
from ffbench.weights import home

P = protocols.get("fvd@stylegan-v-2048x16")


def _entry(seed=0, n=20):
    x = np.random.default_rng(seed).standard_normal((n, 8)).astype(np.float32)
    return {"features": x, "n_videos": n, "real_set": {"stats": {"used": n}}}


def _dataset(tmp_path, contents=(b"a", b"bb", b"ccc")):
    d = tmp_path / "ds"
    d.mkdir(exist_ok=True)
    for i, c in enumerate(contents):
        (d / f"v{i}.npy").write_bytes(c)
    return sorted(d.iterdir()), d


def test_cache_lives_under_ffbench_home_and_hits(tmp_path):
    cache = RealFeatureCache()
    assert cache.root == home() / "stats"
    paths, root = _dataset(tmp_path)
    man = manifest_hash(paths, root)
    assert cache.get(P, man, "w1") is None  # miss
    path = cache.put(P, man, "w1", _entry())
    assert path.exists() and path.parent == cache.root
    hit = cache.get(P, man, "w1")
    assert hit["n_videos"] == 20 and hit["cache_file"] == str(path)
    np.testing.assert_array_equal(hit["features"], _entry()["features"])
    assert hit["features"].dtype == np.float32
    assert cache.list() == [path]
    # FVD's statistics of a hit are those of the fresh features, bit for bit
    a, b = GaussianStats.from_features(hit["features"]), GaussianStats.from_features(_entry()["features"])
    assert np.array_equal(a.sum_outer, b.sum_outer) and np.array_equal(a.sum, b.sum)


def test_cache_invalidation(tmp_path):
    cache = RealFeatureCache(tmp_path / "c")
    paths, root = _dataset(tmp_path)
    man = manifest_hash(paths, root)
    cache.put(P, man, "w1", _entry())
    # another protocol (any field that changes the hash), other weights: misses
    assert cache.get(dataclasses.replace(P, covariance="unbiased"), man, "w1") is None
    assert cache.get(protocols.get("fvd@videogpt"), man, "w1") is None
    assert cache.get(P, man, "w2") is None
    # the dataset changes: one file's content, a file added, the clip seed
    paths2, _ = _dataset(tmp_path, (b"a", b"bX", b"ccc"))
    assert manifest_hash(paths2, root) != man
    assert manifest_hash(paths, root, extra="clip-seed=1") != man
    paths3, _ = _dataset(tmp_path, (b"a", b"bb", b"ccc", b"dddd"))
    assert manifest_hash(paths3, root) != manifest_hash(paths3[:3], root)
    # a file whose stored key does not match its name is a miss
    target = cache.path_for(P, man, "w1")
    entry = RealFeatureCache.read(target)
    entry["weights_tag"] = "other"
    other = RealFeatureCache(tmp_path / "o")
    moved = other.put(P, man, "other", entry)
    target.write_bytes(moved.read_bytes())
    assert cache.get(P, man, "w1") is None


def test_torn_cache_file_is_a_logged_miss(tmp_path, caplog):
    cache = RealFeatureCache(tmp_path / "c")
    path = cache.put(P, "m", "w1", _entry())
    whole = path.read_bytes()
    flipped = bytearray(whole)
    flipped[whole.index(b"features") + 60] ^= 0xFF
    # cut anywhere (a kill or a full disk mid-copy), or a byte flipped in the arrays' header
    for i, damaged in enumerate([whole[:len(whole) // 2], whole[:-30], whole[:100], b"", bytes(flipped)]):
        path.write_bytes(damaged)
        caplog.clear()
        assert cache.get(P, "m", "w1") is None, i
        assert any(str(path) in r.getMessage() and "recomputing" in r.getMessage()
                   for r in caplog.records), i
        cache.put(P, "m", "w1", _entry(1))  # recomputed: replaced atomically
        assert cache.get(P, "m", "w1")["n_videos"] == 20


def test_a_damaged_statistics_file_the_user_names_is_an_error(tmp_path, capsys):
    from ffbench.cli import main
    from ffbench.metrics.stats import StatsError, load_stats

    whole = GaussianStats.from_features(_entry()["features"]).save(tmp_path / "s.npz").read_bytes()
    for i, damaged in enumerate([whole[:len(whole) // 2], whole[:-30], b""]):
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
    cache = RealFeatureCache(tmp_path / "file" / "cache")  # its folder cannot be created
    assert cache.put(P, "m", "w1", _entry()) is None
    assert any("not cached" in r.getMessage() for r in caplog.records)
    assert cache.get(P, "m", "w1") is None
    with pytest.raises(StatsError, match="file/x.npz: cannot write statistics"):
        GaussianStats.from_features(_entry()["features"]).save(tmp_path / "file" / "x.npz")
    assert sorted(q.name for q in tmp_path.iterdir()) == ["file"]  # no temp files left


def test_stats_show_lists_cached_features_and_statistics_files(tmp_path, capsys):
    import json

    from ffbench.cli import main

    cache = RealFeatureCache()
    cache.put(P, "m", "w1", _entry())
    GaussianStats.from_features(_entry()["features"], meta={"protocol": P.name}).save(
        cache.root / "imported-x.npz")
    (cache.root / "junk.npz").write_bytes(b"x")
    assert main(["stats", "show", "--json"]) == 0
    rows = {r["file"]: r for r in json.loads(capsys.readouterr().out)["files"]}
    feats = next(r for f, r in rows.items() if f.endswith(RealFeatureCache.SUFFIX))
    assert (feats["n"], feats["dim"], feats["protocol"]) == (20, 8, P.name)
    assert (rows["imported-x.npz"]["n"], rows["imported-x.npz"]["protocol"]) == (20, P.name)
    assert rows["junk.npz"]["protocol"].startswith("unreadable")
