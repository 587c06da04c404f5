import json
import subprocess
import sys

import pytest

from ffbench import protocols as P


def test_hashes_distinct_and_hex():
    hashes = [p.hash for p in P.PROTOCOLS.values()]
    assert len(set(hashes)) == len(hashes)
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in hashes)


def test_hash_stable_across_processes():
    code = "import json, ffbench.protocols as P; print(json.dumps({n: p.hash for n, p in P.PROTOCOLS.items()}))"
    outs = [json.loads(subprocess.check_output([sys.executable, "-c", code], text=True,
                                               env={"PYTHONHASHSEED": str(seed), "PATH": ""}))
            for seed in (1, 2)]
    assert outs[0] == outs[1] == {n: p.hash for n, p in P.PROTOCOLS.items()}


def test_hash_ignores_documentation_but_not_constants():
    import dataclasses

    p = P.get("fvd@stylegan-v-2048x16")
    assert dataclasses.replace(p, description="other words").hash == p.hash
    assert dataclasses.replace(p, covariance="unbiased").hash != p.hash
    assert dataclasses.replace(p, num_fake=2047).hash != p.hash


def test_protocol_constants_match_references():
    sg = P.get("fvd@stylegan-v-2048x16")
    assert (sg.num_real, sg.num_fake, sg.num_frames, sg.covariance, sg.sqrtm) == (2048, 2048, 16, "biased", "scipy-sqrtm")
    assert P.get("fvd@stylegan-v-2048x128").num_frames == 128
    vg = P.get("fvd@videogpt")
    assert (vg.num_fake, vg.covariance, vg.sqrtm, vg.resize) == (256, "unbiased", "tfgan", "short-side-crop")
    assert P.get("fvd@cd-fvd-i3d").resize == "direct"
    is_ = P.get("is@c3d-ucf101")
    assert (is_.num_samples, is_.num_frames, is_.splits, is_.shuffle_seed) == (2048, 16, 10, 42)
    assert P.get("clipsim100@vit-b-32").scale == 100 and P.get("clipsim@vit-b-32").backbone == "ViT-B/32"
    rec = P.get("reconstruction@vimeo90k-septuplet")
    assert (rec.ssim_kernel_size, rec.ssim_sigma, rec.ssim_k1, rec.ssim_k2) == (11, 1.5, 0.01, 0.03)
    assert (rec.ssim_border, rec.color) == ("valid", "rgb")


def test_unknown_protocol_error_lists_known():
    with pytest.raises(P.ProtocolError, match="fvd@stylegan-v-2048x16"):
        P.get("fvd@nope")


# hashes published before issue 19: protocols whose number did not change keep them
PUBLISHED = {
    "fvd@stylegan-v-2048x16": "6a75cb0ccac23e4831d8846e3eece85c3e740a2347c21c4586f83452c8d0a30f",
    "fvd@stylegan-v-2048x128": "80ec9db9a1779f67486464f391b60d1159356b6bc7171ef713cf2d2c427dfb6d",
    "fvd@videogpt": "a8bbc0b8904569fa143b30866e047a0821b3040bb083700d6e5893f01024ef6d",
    "fvd@cd-fvd-i3d": "d913c58ba0c4579e66e9f504dddfff3ffe6ae0e789cfafaf3839303b36b4c1e0",
    "is@c3d-ucf101": "ca39ae1d8a9b611d55210f96e4585d1c1f054e56b9b682d0316dd84e610898f3",
    "clipsim@vit-b-32": "85a1dc18d864d505e3ef3a8bff3cd92f8b2a7ebe87fd95e03925d71d02ab79b8",
    "clipsim100@vit-b-32": "36710da9fba4b45ee0a1294cab43c383854ed469f7719487b4b938c57b75b2d6",
    "clipsim@vit-b-16": "7e9e1c963f7da43736106a3afd290b7e04b16e92b0809f1941b63162236406c1",
    "clipsim@vit-l-14": "79e2cebb71d7c58510cc29dbef33691d0da485ce68caa959138809c0ea3a3707",
}
# numbers that changed meaning get new hashes: TGAN2 IS now scores 10 x 2048 videos; the
# reconstruction SSIM no longer follows the installed torchmetrics
CHANGED = {"is@c3d-ucf101-tgan2": "68c1af6bd3951f79e8768904988e9ce87d8c8e3059040d0f41bbad5fcfea4a91",
           "reconstruction@vimeo90k-septuplet": "6dd222b3bd5f0c877fecd5cd348d93f7dbc1c8db81a76af94293a617a6faae1d"}


def test_published_hashes_are_kept_and_changed_numbers_get_new_ones():
    for name, h in PUBLISHED.items():
        assert P.get(name).hash == h, name
    for name, h in CHANGED.items():
        assert P.get(name).hash != h, name


def test_field_added_later_hashes_only_when_set():
    import dataclasses

    p = P.get("is@c3d-ucf101")
    assert "samples_per_split" not in p.canonical()
    assert dataclasses.replace(p, samples_per_split=2048).hash != p.hash
    assert P.get("is@c3d-ucf101-tgan2").videos_needed == 10 * 2048 and p.videos_needed == 2048


def test_documentation_fields_are_not_hashed():
    import dataclasses

    c = P.get("clipsim@vit-b-32")
    assert c.pillow and dataclasses.replace(c, pillow="0.0").hash == c.hash
    assert dataclasses.replace(c, precision="x").hash == c.hash
    assert "pillow" not in c.canonical() and "precision" not in c.canonical()


def test_every_fvd_and_is_protocol_states_its_precision():
    for name in P.names("fvd") + P.names("is"):
        assert P.get(name).precision, name
    assert "float32" in P.get("fvd@videogpt").precision and "6.3e-5" in P.get("fvd@videogpt").precision


def test_new_protocols_are_listed():
    for name in ("fvd@cd-fvd-i3d-folder", "fvd@cd-fvd-i3d-folder128", "reconstruction@vimeo90k-septuplet-tm15",
                 "reconstruction@vimeo90k-septuplet-y", "reconstruction@common-metrics"):
        assert name in P.PROTOCOLS
    assert P.get("fvd@cd-fvd-i3d-folder").resize == "cd-fvd-folder-256"
    assert P.get("reconstruction@vimeo90k-septuplet").ssim_border == "valid"
