import hashlib

import pytest

from ffbench import weights as W


def _write(path, data=b"weights!"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_resolution_order(tmp_path, monkeypatch):
    home = tmp_path / "ffhome"
    user = tmp_path / "user"
    torch_home = tmp_path / "torchhome"
    monkeypatch.setenv("FFBENCH_HOME", str(home))
    monkeypatch.setenv("HOME", str(user))
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    name = "i3d_torchscript"
    fn = W.get(name).filename
    hub = _write(torch_home / "hub" / "checkpoints" / fn, b"hub")
    assert W.resolve(name) == hub
    cache = _write(user / ".cache" / "ffbench" / fn, b"hub")  # same bytes: the pin must match
    assert W.resolve(name) == cache
    env = _write(home / fn, b"hub")
    assert W.resolve(name) == env
    explicit = _write(tmp_path / "elsewhere" / "mine.pt", b"hub")
    assert W.resolve(name, explicit) == explicit
    assert W.resolve(name, explicit.parent.parent / "ffhome") == env  # a directory: look inside


def test_missing_file_message_says_what_and_where(tmp_path):
    with pytest.raises(W.WeightsMissing) as e:
        W.resolve("c3d_ucf101")
    msg = str(e.value)
    assert "c3d_ucf101.pt" in msg and "dropbox.com" in msg and str(W.home()) in msg
    assert "never downloads" in msg


def test_published_sha_mismatch_is_error(tmp_path):
    f = _write(tmp_path / "ViT-B-32.pt", b"not clip")
    with pytest.raises(W.WeightsMismatch, match="does not match the published digest"):
        W.resolve("clip_vit_b32", f)


def test_published_sha_match(tmp_path, monkeypatch):
    data = b"pretend clip"
    monkeypatch.setitem(W.REGISTRY, "clip_vit_b32",
                        W.WeightFile("clip_vit_b32", "ViT-B-32.pt", "u", "x",
                                     sha256=hashlib.sha256(data).hexdigest()))
    f = _write(tmp_path / "ViT-B-32.pt", data)
    assert W.resolve("clip_vit_b32", f) == f


def test_unpublished_digest_pinned_on_first_use_then_enforced(tmp_path):
    f = _write(tmp_path / "i3d_torchscript.pt", b"version 1")
    W.resolve("i3d_torchscript", f)
    digest, origin = W.expected_sha256("i3d_torchscript")
    assert origin == "pinned" and digest == hashlib.sha256(b"version 1").hexdigest()
    f.write_bytes(b"version 2 (corrupted)")
    with pytest.raises(W.WeightsMismatch, match="pinned"):
        W.resolve("i3d_torchscript", f)


def test_size_check(tmp_path, monkeypatch):
    monkeypatch.setitem(W.REGISTRY, "c3d_ucf101",
                        W.WeightFile("c3d_ucf101", "c3d_ucf101.pt", "u", "x", size=100))
    with pytest.raises(W.WeightsMismatch, match="size 3 bytes"):
        W.resolve("c3d_ucf101", _write(tmp_path / "c3d_ucf101.pt", b"abc"))


def test_directory_weights(tmp_path):
    d = tmp_path / "flan-ul2"
    _write(d / "config.json", b"{}")
    _write(d / "shard.bin", b"123")
    assert W.resolve("flan_ul2_encoder", d) == d
    (d / "shard.bin").write_bytes(b"124")
    with pytest.raises(W.WeightsMismatch):
        W.resolve("flan_ul2_encoder", d)


def test_unknown_name():
    with pytest.raises(W.WeightsError, match="unknown weight file"):
        W.resolve("nope")


def test_registry_covers_protocol_weights():
    from ffbench import protocols

    for p in protocols.PROTOCOLS.values():
        if hasattr(p, "weights"):
            assert p.weights in W.REGISTRY, p.name


def test_digest_remembered_until_file_changes(tmp_path, monkeypatch):
    f = _write(tmp_path / "big.bin", b"A" * 1000)
    calls = []
    real = W.sha256_of
    monkeypatch.setattr(W, "sha256_of", lambda p, *a: calls.append(p) or real(p, *a))
    d1 = W.cached_digest(f)
    d2 = W.cached_digest(f)
    assert d1 == d2 == hashlib.sha256(b"A" * 1000).hexdigest() and len(calls) == 1
    import os
    f.write_bytes(b"B" * 1000)
    os.utime(f, ns=(1, 1))
    assert W.cached_digest(f) == hashlib.sha256(b"B" * 1000).hexdigest() and len(calls) == 2


def _rewrite_in_place_keeping_mtime(f, data):
    import os

    st = f.stat()
    with open(f, "r+b") as fh:  # same inode, same size
        fh.write(data)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (f.stat().st_size, f.stat().st_mtime_ns, f.stat().st_ino) == (
        st.st_size, st.st_mtime_ns, st.st_ino)


def test_weights_verify_hashes_a_file_rewritten_with_its_mtime_restored(tmp_path, capsys):
    from ffbench.cli import main

    f = _write(tmp_path / "i3d.pt", b"A" * 1000)
    assert main(["weights", "verify", "i3d_torchscript", "--path", str(f)]) == 0  # pins A
    assert "ok" in capsys.readouterr().out
    _rewrite_in_place_keeping_mtime(f, b"B" * 1000)
    assert main(["weights", "verify", "i3d_torchscript", "--path", str(f)]) == 1
    out = capsys.readouterr().out
    assert "does not match the pinned digest" in out and hashlib.sha256(b"B" * 1000).hexdigest() in out
    # the remembered digest was refreshed from the bytes: resolution fails too now
    with pytest.raises(W.WeightsMismatch):
        W.resolve("i3d_torchscript", f)


def test_verify_never_trusts_the_digest_cache(tmp_path, monkeypatch):
    f = _write(tmp_path / "w.bin", b"A" * 1000)
    W.cached_digest(f)
    # the remembered entry is stale in a way no fingerprint could see (a forged cache)
    monkeypatch.setattr(W, "_fingerprint", lambda p: ["same"])
    W.cached_digest(f)
    f.write_bytes(b"C" * 1000)
    assert W.cached_digest(f) == hashlib.sha256(b"A" * 1000).hexdigest()  # the shortcut
    assert W.cached_digest(f, trust_cache=False) == hashlib.sha256(b"C" * 1000).hexdigest()
    assert W.verify("i3d_torchscript", f, pin=False, trust_cache=False) == \
        hashlib.sha256(b"C" * 1000).hexdigest()


def test_digest_shortcut_sees_a_copy_that_kept_the_old_mtime(tmp_path):
    import os
    import shutil

    f = _write(tmp_path / "w.bin", b"A" * 1000)
    assert W.cached_digest(f) == hashlib.sha256(b"A" * 1000).hexdigest()
    g = _write(tmp_path / "new.bin", b"D" * 1000)
    shutil.copystat(f, g)  # same size and mtime, as `cp -p` of another file would leave
    os.replace(g, f)
    assert W.cached_digest(f) == hashlib.sha256(b"D" * 1000).hexdigest()
