"""`ffbench weights download`: opt-in, resumable, sha256-checked downloads (ffbench.downloads).

Every transfer goes to an HTTP server this module starts on 127.0.0.1 (http.server in a thread,
port chosen by the OS); no other traffic. The server serves a fixed payload, honours `Range`
(or ignores it, on request), can cut a transfer half-way, and answers 404 for unknown paths.
"""
from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ffbench import downloads as D
from ffbench import weights as W
from ffbench.cli import main

PAYLOAD = bytes(range(256)) * 1000  # 256,000 bytes
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):  # noqa: N802 - http.server's naming
        srv = self.server
        srv.requests.append((self.path, self.headers.get("Range")))
        if self.path not in ("/good.pt", "/cut.pt", "/norange.pt"):
            self.send_error(404, "Not Found")
            return
        data, start = PAYLOAD, 0
        rng = self.headers.get("Range")
        if rng and self.path != "/norange.pt":
            start = int(rng.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path == "/cut.pt" and srv.cuts_left > 0:  # promise everything, send half, hang up
            srv.cuts_left -= 1
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def server(monkeypatch):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)  # loopback only, never through a proxy
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.requests, srv.cuts_left = [], 1
    th = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    th.start()
    srv.base = f"http://127.0.0.1:{srv.server_address[1]}"
    yield srv
    srv.shutdown()
    srv.server_close()
    th.join(timeout=5)


def _serve_as(monkeypatch, name, url, sha256=None):
    """Point registry entry `name` at `url`, with a published digest or none (pin on first use)."""
    wf = W.get(name)
    monkeypatch.setitem(W.REGISTRY, name, W.WeightFile(name, wf.filename, url, wf.used_by, sha256=sha256))
    monkeypatch.setitem(D.SOURCES, name, D.Source(url=url))
    return W.home() / wf.filename


def _leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.parent.glob(dest.name + ".*"))


def test_good_file_published_digest(server, monkeypatch):
    dest = _serve_as(monkeypatch, "clip_vit_b32", server.base + "/good.pt", sha256=DIGEST)
    r = D.download("clip_vit_b32", progress=False)
    assert r["status"] == "downloaded" and r["sha256_origin"] == "published"
    assert Path(r["path"]) == dest and dest.read_bytes() == PAYLOAD
    assert _leftovers(dest) == []  # no .part, no .lock
    assert W.resolve("clip_vit_b32") == dest
    again = D.download("clip_vit_b32", progress=False)  # present: nothing fetched
    assert again["status"] == "present" and len(server.requests) == 1


def test_unpublished_digest_is_pinned_on_first_download(server, monkeypatch):
    dest = _serve_as(monkeypatch, "c3d_ucf101", server.base + "/good.pt")
    r = D.download("c3d_ucf101", progress=False)
    assert r["sha256_origin"] == "pinned-now" and r["sha256"] == DIGEST
    assert W.expected_sha256("c3d_ucf101") == (DIGEST, "pinned")
    dest.unlink()
    dest.write_bytes(b"something else")  # a later, different file must not pass the pin
    with pytest.raises(W.WeightsMismatch, match="pinned digest"):
        D.download("c3d_ucf101", progress=False)


def test_wrong_digest_deletes_the_partial_file_and_says_so(server, monkeypatch):
    dest = _serve_as(monkeypatch, "clip_vit_b32", server.base + "/good.pt", sha256="0" * 64)
    with pytest.raises(D.DigestMismatch) as e:
        D.download("clip_vit_b32", progress=False)
    msg = str(e.value)
    assert DIGEST in msg and "0" * 64 in msg and "published" in msg
    assert "deleted" in msg and str(dest) + ".part" in msg
    assert not dest.exists() and _leftovers(dest) == []


def test_wrong_pinned_digest_is_refused(server, monkeypatch):
    _serve_as(monkeypatch, "c3d_ucf101", server.base + "/good.pt")
    W._save_pin("c3d_ucf101", "f" * 64, W.home() / "old.pt")  # an earlier, different file
    with pytest.raises(D.DigestMismatch, match="pinned digest"):
        D.download("c3d_ucf101", progress=False)
    assert not (W.home() / "c3d_ucf101.pt").exists()


def test_interrupted_transfer_keeps_partial_then_resumes(server, monkeypatch):
    dest = _serve_as(monkeypatch, "clip_vit_b32", server.base + "/cut.pt", sha256=DIGEST)
    with pytest.raises(D.DownloadInterrupted) as e:
        D.download("clip_vit_b32", progress=False, retries=0, timeout=10)
    assert "kept" in str(e.value) and "run the same command again" in str(e.value)
    part = dest.with_name(dest.name + ".part")
    kept = part.stat().st_size  # whole blocks received before the cut (at most half the file)
    assert 0 < kept <= len(PAYLOAD) // 2 and part.read_bytes() == PAYLOAD[:kept]
    assert not dest.exists()
    r = D.download("clip_vit_b32", progress=False, retries=0, timeout=10)
    assert r["status"] == "downloaded" and dest.read_bytes() == PAYLOAD
    assert server.requests == [("/cut.pt", None), ("/cut.pt", f"bytes={kept}-")]
    assert _leftovers(dest) == []


def test_interrupted_transfer_is_retried_within_one_call(server, monkeypatch, capsys):
    dest = _serve_as(monkeypatch, "clip_vit_b32", server.base + "/cut.pt", sha256=DIGEST)
    D.download("clip_vit_b32", progress=False, retries=2, timeout=10)
    assert dest.read_bytes() == PAYLOAD
    ranges = [r[1] for r in server.requests]
    assert len(ranges) == 2 and ranges[0] is None and ranges[1].startswith("bytes=")
    assert 0 < int(ranges[1][6:-1]) <= len(PAYLOAD) // 2
    assert "retrying (1/2)" in capsys.readouterr().err


def test_server_ignoring_range_restarts_the_file(server, monkeypatch):
    dest = _serve_as(monkeypatch, "clip_vit_b32", server.base + "/norange.pt", sha256=DIGEST)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.with_name(dest.name + ".part").write_bytes(b"\xff" * 1000)  # stale bytes
    D.download("clip_vit_b32", progress=False, retries=0)
    assert dest.read_bytes() == PAYLOAD and server.requests[0][1] == "bytes=1000-"


def test_complete_partial_file_is_not_fetched_again(server, monkeypatch):
    dest = _serve_as(monkeypatch, "clip_vit_b32", server.base + "/good.pt", sha256=DIGEST)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.with_name(dest.name + ".part").write_bytes(PAYLOAD)  # killed between last byte and rename
    D.download("clip_vit_b32", progress=False, retries=0)
    assert dest.read_bytes() == PAYLOAD and server.requests == [("/good.pt", f"bytes={len(PAYLOAD)}-")]


def test_404_is_a_clear_error_and_leaves_nothing(server, monkeypatch):
    dest = _serve_as(monkeypatch, "clip_vit_b32", server.base + "/missing.pt", sha256=DIGEST)
    with pytest.raises(D.DownloadError, match=r"/missing.pt: HTTP 404") as e:
        D.download("clip_vit_b32", progress=False, retries=3)
    assert not isinstance(e.value, D.DownloadInterrupted)  # a 404 is not retried
    assert len(server.requests) == 1 and not dest.exists() and _leftovers(dest) == []


def test_for_protocol_resolves_names():
    assert D.names_for("fvd@stylegan-v-2048x16") == ["i3d_torchscript"]
    assert D.names_for("fvd@videogpt") == ["i3d_pretrained_400"]
    assert D.names_for("is@c3d-ucf101") == ["c3d_ucf101"]
    assert D.names_for("clipsim100@vit-b-32") == ["clip_vit_b32"]
    assert D.names_for("clipsim@vit-l-14") == ["clip_vit_l14"]
    assert D.names_for("reconstruction@vimeo90k-septuplet") == ["lpips_alex_backbone"]
    assert "flan_ul2_encoder" in D.names_for("fusionframes")
    with pytest.raises(D.DownloadError, match="not a protocol or group; known: .*fvd@videogpt"):
        D.names_for("fvd@nonsense")


def test_every_registry_file_has_a_source_matching_its_documented_url():
    assert set(D.SOURCES) == set(W.REGISTRY)
    for name, src in D.SOURCES.items():
        doc = W.get(name).url
        if src.url:
            assert src.url in doc, name
        else:
            assert src.repo_id in doc and (src.filename is None or src.filename in doc), name
            assert W.get(name).is_dir == (src.filename is None), name


def test_cli_download_for_protocol_json(server, monkeypatch, capsys):
    dest = _serve_as(monkeypatch, "i3d_torchscript", server.base + "/good.pt")
    assert main(["weights", "download", "--for", "fvd@stylegan-v-2048x16", "--json", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["status"], r["ok"]) for r in out] == [("i3d_torchscript", "downloaded", True)]
    assert dest.read_bytes() == PAYLOAD


def test_cli_download_failure_exit_code_and_message(server, monkeypatch, capsys):
    _serve_as(monkeypatch, "c3d_ucf101", server.base + "/missing.pt")
    assert main(["weights", "download", "c3d_ucf101", "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert "failed" in out and "HTTP 404" in out


def test_cli_download_needs_an_explicit_choice(capsys):
    assert main(["weights", "download"]) == 2
    assert "nothing to download" in capsys.readouterr().err
    assert main(["weights", "download", "no_such_file"]) == 2
    assert "unknown weight file 'no_such_file'" in capsys.readouterr().err


def test_missing_file_message_names_the_download_command():
    with pytest.raises(W.WeightsMissing, match="ffbench weights download c3d_ucf101"):
        W.resolve("c3d_ucf101")


# --- Hugging Face files: our glue around huggingface_hub (no network here) ------------------

def _fake_hf(monkeypatch, data: bytes, calls: list):
    import huggingface_hub as hf

    def hf_hub_download(repo_id, filename, revision=None, local_dir=None, **kw):
        calls.append((repo_id, filename, revision))
        out = Path(local_dir) / filename
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        return str(out)

    monkeypatch.setattr(hf, "hf_hub_download", hf_hub_download)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


def test_hf_file_verified_then_moved_into_place(monkeypatch):
    calls = []
    _fake_hf(monkeypatch, PAYLOAD, calls)
    wf = W.get("fusionframes_movq")
    monkeypatch.setitem(W.REGISTRY, wf.name, W.WeightFile(wf.name, wf.filename, wf.url, wf.used_by,
                                                          sha256=DIGEST))
    r = D.download("fusionframes_movq", progress=False)
    assert calls == [("ai-forever/KandinskyVideo", "weights/movq.pt", "main")]
    assert Path(r["path"]) == W.home() / "movq.pt" and (W.home() / "movq.pt").read_bytes() == PAYLOAD
    assert not (W.home() / ".downloads" / "fusionframes_movq").exists()


def test_hf_file_wrong_digest_is_deleted(monkeypatch):
    _fake_hf(monkeypatch, b"tampered", [])
    wf = W.get("fusionframes_movq")
    monkeypatch.setitem(W.REGISTRY, wf.name, W.WeightFile(wf.name, wf.filename, wf.url, wf.used_by,
                                                          sha256=DIGEST))
    with pytest.raises(D.DigestMismatch, match="deleted the downloaded data"):
        D.download("fusionframes_movq", progress=False)
    assert not (W.home() / "movq.pt").exists()
    assert not (W.home() / ".downloads" / "fusionframes_movq").exists()


def test_hf_offline_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(D.DownloadError, match="HF_HUB_OFFLINE is set"):
        D.download("fusionframes_movq", progress=False)


def test_hf_folder_snapshot_is_hashed_without_hub_metadata_and_pinned(monkeypatch):
    import huggingface_hub as hf

    calls = []

    def snapshot_download(repo_id, revision=None, local_dir=None, allow_patterns=None, **kw):
        calls.append((repo_id, tuple(allow_patterns)))
        root = Path(local_dir)
        (root / ".cache" / "huggingface").mkdir(parents=True)
        (root / ".cache" / "huggingface" / "meta").write_text("hub bookkeeping")
        (root / "config.json").write_text("{}")
        (root / "pytorch_model-00001-of-00001.bin").write_bytes(PAYLOAD)
        return str(root)

    monkeypatch.setattr(hf, "snapshot_download", snapshot_download)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    r = D.download("flan_ul2_encoder", progress=False)
    folder = W.home() / "flan-ul2"
    assert calls and calls[0][0] == "google/flan-ul2" and "pytorch_model*.bin" in calls[0][1]
    assert r["sha256_origin"] == "pinned-now" and Path(r["path"]) == folder
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "pytorch_model-00001-of-00001.bin"]
    assert r["sha256"] == W.sha256_of(folder) and W.expected_sha256("flan_ul2_encoder") == (r["sha256"], "pinned")


def test_progress_bar_goes_to_stderr(server, monkeypatch, capsys):
    _serve_as(monkeypatch, "clip_vit_b32", server.base + "/good.pt", sha256=DIGEST)
    D.download("clip_vit_b32", progress=True)
    captured = capsys.readouterr()
    assert "clip_vit_b32" in captured.err and captured.out == ""
