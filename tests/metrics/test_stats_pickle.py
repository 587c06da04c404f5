"""Reference statistics pickles: exact allow-list (issue 21 item 1).

Crafted payloads that run a shell command under a permissive unpickler (dotted names under
protocol 4, numpy functions outside the list, persistent ids, a reduce through an allowed
callable) are refused by every entry point that reads a `.pkl`, and the command never runs;
legitimate StyleGAN-V / cd-fvd pickles, of every protocol and numpy 1.x or 2.x, still load.
"""
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from ffbench.cli import main
from ffbench.metrics.stats import StatsError, load_reference_pkl, load_stats

D = 6
FAST = ["--random-weights", "--resolution", "32", "--batch-size", "4"]


def _features(n=12, seed=0):
    return np.random.default_rng(seed).standard_normal((n, D)).astype(np.float32)


def _feature_stats_dict(x, capture_all):
    """`FeatureStats.__dict__` as StyleGAN-V / cd-fvd pickle it (metric_utils.FeatureStats)."""
    x64 = x.astype(np.float64)
    return {"capture_all": capture_all, "capture_mean_cov": not capture_all,
            "max_items": np.int64(2048), "num_items": np.int64(x.shape[0]), "num_features": D,
            "all_features": [x[:5], x[5:]] if capture_all else None,
            "raw_mean": None if capture_all else x64.sum(0),
            "raw_cov": None if capture_all else np.asfortranarray(x64.T @ x64)}


@pytest.mark.parametrize("capture_all", [False, True])
def test_legitimate_pickles_of_every_protocol_and_numpy_1_load(tmp_path, capture_all):
    x = _features()
    x64 = x.astype(np.float64)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        data = pickle.dumps(_feature_stats_dict(x, capture_all), protocol=protocol)
        variants = [data]
        if protocol <= 2:  # text globals: the same file as numpy 1.x writes it (numpy.core)
            variants.append(data.replace(b"numpy._core.", b"numpy.core."))
            assert variants[-1] != data
        for i, v in enumerate(variants):
            p = tmp_path / f"p{protocol}-{i}.pkl"
            p.write_bytes(v)
            s = load_reference_pkl(p)
            assert s.n == 12 and s.dim == D and s.meta["max_items"] == 2048
            np.testing.assert_allclose(s.sum, x64.sum(0), rtol=1e-12)
            np.testing.assert_allclose(s.sum_outer, x64.T @ x64, rtol=1e-12)


def _unicode(s: str) -> bytes:
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def _call(global_op: bytes, *args: str) -> bytes:
    """Protocol-4 pickle: push a global, call it with string args (REDUCE)."""
    return b"\x80\x04" + global_op + b"(" + b"".join(_unicode(a) for a in args) + b"tR."


def _glob(module: str, name: str) -> bytes:  # GLOBAL opcode, names as text
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _stack_glob(module: str, name: str) -> bytes:  # STACK_GLOBAL opcode (protocol 4)
    return _unicode(module) + _unicode(name) + b"\x93"


def _payloads(marker: Path) -> dict[str, bytes]:
    cmd = f"touch {marker}"
    obj_array = pickle.dumps({"num_items": 2, "capture_mean_cov": True,
                              "raw_mean": np.array([1, "x"], dtype=object),
                              "raw_cov": np.zeros((2, 2))}, protocol=4)
    return {
        # the exploit: protocol 4 resolves a dotted name inside a numpy module
        "dotted-global": _call(_glob("numpy.lib._npyio_impl", "os.system"), cmd),
        "dotted-stack-global": _call(_stack_glob("numpy._core.multiarray", "os.system"), cmd),
        "dotted-on-allowed-name": _call(_stack_glob("numpy", "ndarray.__init__.__globals__"), cmd),
        "plain-os-system": _call(_glob("os", "system"), cmd),
        "builtins-eval": _call(_glob("builtins", "eval"), f"__import__('os').system('{cmd}')"),
        "numpy-function-outside-list": _call(_stack_glob("numpy", "load"), str(marker)),
        "numpy-testing": _call(_glob("numpy.testing._private.utils", "subprocess"), cmd),
        "allowed-callable-misused": _call(_glob("_codecs", "encode"), cmd, "rot13"),
        "persistent-id": b"\x80\x04" + _unicode(cmd) + b"Q.",
        "object-array": obj_array,
        "torn": pickle.dumps(_feature_stats_dict(_features(), False), protocol=4)[:-40],
    }


@pytest.fixture
def payloads(tmp_path):
    marker = tmp_path / "PWNED"
    files = {}
    for name, data in _payloads(marker).items():
        p = tmp_path / f"{name}.pkl"
        p.write_bytes(data)
        files[name] = p
    yield files
    assert not marker.exists(), "a payload ran its command"


def test_every_crafted_payload_is_refused_naming_the_file(payloads):
    for name, p in payloads.items():
        with pytest.raises(StatsError) as e:
            load_stats(p)
        msg = str(e.value)
        assert str(p) in msg, name
        if name not in ("object-array", "torn"):
            assert "refusing" in msg, (name, msg)
    assert "numeric array" in str(pytest.raises(StatsError, load_reference_pkl, payloads["object-array"]).value)


def test_cli_entry_points_refuse_payloads(payloads, tmp_path, capsys):
    fake = tmp_path / "fake"
    fake.mkdir()
    for name in ("dotted-global", "numpy-function-outside-list", "persistent-id", "torn"):
        p = str(payloads[name])
        argvs = [["stats", "import", p, "--protocol", "fvd@stylegan-v-2048x16"], ["stats", "show", p]]
        if name in ("dotted-global", "torn"):  # builds a detector first: the two that matter most
            argvs.append(["evaluate", "fvd", "--real", p, "--fake", str(fake), *FAST])
        for argv in argvs:
            assert main(argv) == 2, (name, argv)
            err = capsys.readouterr().err
            assert f"ffbench: error: {p}" in err and "Traceback" not in err, (name, argv, err)


def test_run_config_real_stats_pkl_is_refused(payloads, tmp_path):
    """`[real] stats = "X.pkl"` in a run config: the harness reads it through load_stats."""
    from ffbench.harness.config import parse_run_config
    from ffbench.harness.runner import preflight

    config = parse_run_config({"model": "mypkg:make", "dataset": "demo", "metrics": ["fvd"],
                               "real": {"stats": str(payloads["dotted-global"])}})
    with pytest.raises(StatsError, match="refusing to load numpy.lib._npyio_impl.os.system"):
        preflight(config)  # before anything is generated
