"""LPIPS backbone loading: from the file ffbench.weights resolves, never from the network.

The reference is the lpips package's own pretrained path (`lpips.LPIPS(net=...)` with
pnet_rand=False, where torchvision supplies the ImageNet backbone); we make torchvision hand it
the same weights we saved to a file, and check both models give the same numbers.
"""
from __future__ import annotations

import dataclasses
import warnings

import lpips
import pytest
import torch
import torchvision

from ffbench import weights
from ffbench.metrics.reconstruction import VideoLPIPS, load_lpips


@pytest.fixture
def no_download(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("tried to download")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


def _unpinned(monkeypatch, name):
    monkeypatch.setitem(weights.REGISTRY, name, dataclasses.replace(weights.REGISTRY[name], sha256=None))


def test_missing_backbone_is_an_error_not_a_download(no_download):
    with pytest.raises(weights.WeightsMissing, match="alexnet-owt-7be5be79.pth"):
        load_lpips("alex")
    with pytest.raises(weights.WeightsMissing, match="vgg16-397923af.pth"):
        VideoLPIPS(net="vgg")


def test_random_backbone_builds_offline_and_is_marked(no_download):
    a, b = load_lpips("alex", random_backbone=True, seed=1), load_lpips("alex", random_backbone=True, seed=1)
    c = load_lpips("alex", random_backbone=True, seed=2)
    assert a.random_weights and a.weights_sha256 is None
    sa, sc = a.state_dict(), c.state_dict()
    assert all(torch.equal(v, b.state_dict()[k]) for k, v in sa.items())  # seeded
    assert not torch.equal(sa["net.slice1.0.weight"], sc["net.slice1.0.weight"])
    # the lin layers are the package's calibrated ones, not random
    shipped = torch.load(lpips.__path__[0] + "/weights/v0.1/alex.pth", map_location="cpu")
    assert torch.equal(sa["lin0.model.1.weight"], shipped["lin0.model.1.weight"])


def test_alex_backbone_from_file_equals_lpips_pretrained_path(tmp_path, monkeypatch, no_download):
    torch.manual_seed(3)
    alex = torchvision.models.alexnet()
    path = tmp_path / "alexnet-owt-7be5be79.pth"
    torch.save(alex.state_dict(), path)
    _unpinned(monkeypatch, "lpips_alex_backbone")
    ours = load_lpips("alex", weights_path=path)
    rnd = load_lpips("alex", random_backbone=True)
    assert ours.random_weights is False and ours.weights_sha256 == weights.sha256_of(path)

    # reference: the package's pnet_rand=False path, torchvision returning our AlexNet
    monkeypatch.setattr(lpips.pretrained_networks.tv, "alexnet", lambda *a, **k: alex)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = lpips.LPIPS(net="alex", verbose=False).eval()
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(3, 3, 48, 48, generator=g), torch.rand(3, 3, 48, 48, generator=g)
    with torch.no_grad():
        assert torch.equal(ours(x, y, normalize=True), ref(x, y, normalize=True))
    # and it differs from a random backbone (the loading did something)
    with torch.no_grad():
        assert not torch.allclose(rnd(x, y, normalize=True), ref(x, y, normalize=True))


def test_vgg_key_mapping(tmp_path, monkeypatch, no_download):
    # torchvision VGG16 features only (the 100M-parameter classifier is irrelevant to LPIPS)
    from torchvision.models.vgg import cfgs, make_layers

    torch.manual_seed(4)
    feats = make_layers(cfgs["D"])
    state = {f"features.{k}": v for k, v in feats.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)  # present in real files, ignored
    path = tmp_path / "vgg16-397923af.pth"
    torch.save(state, path)
    _unpinned(monkeypatch, "lpips_vgg_backbone")

    class _VGG:  # what lpips reads from torchvision.models.vgg16(...)
        features = make_layers(cfgs["D"])

    monkeypatch.setattr(lpips.pretrained_networks.tv, "vgg16", lambda *a, **k: _VGG())
    model = load_lpips("vgg", weights_path=path)
    sd = model.net.state_dict()
    assert torch.equal(sd["slice1.0.weight"], state["features.0.weight"])
    assert torch.equal(sd["slice5.28.bias"], state["features.28.bias"])
    assert model.net_name == "vgg"


def test_wrong_backbone_file_is_named(tmp_path, monkeypatch, no_download):
    path = tmp_path / "alexnet-owt-7be5be79.pth"
    torch.save({"conv.weight": torch.zeros(1)}, path)
    _unpinned(monkeypatch, "lpips_alex_backbone")
    with pytest.raises(ValueError, match="alexnet-owt-7be5be79.pth.*features"):
        load_lpips("alex", weights_path=path)
    with pytest.raises(ValueError, match="net must be one of"):
        load_lpips("squeeze", random_backbone=True)
