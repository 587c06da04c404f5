"""FusionFrames sampler against closed forms, a numpy transcription of the reference loop,
diffusers' DDPMScheduler, and oracle models."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ffbench.errors import ConfigError
from ffbench.fusionframes.sampler import Sampler, _row_quantile, cfg_combine, make_noise, named_beta_schedule

SHAPE = (3, 4, 6, 5)


def _ab(u):
    return math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2


# --- schedule ------------------------------------------------------------------------------

@pytest.mark.parametrize("steps", [2, 10, 50, 1000])
def test_cosine_schedule_closed_form(steps):
    s = Sampler(steps, "cosine")
    # while no beta is capped, alphas_cumprod telescopes to alpha_bar(t / T) / alpha_bar(0)
    capped = s.betas >= 0.999
    assert capped.sum() == 1 and bool(capped[-1])  # only the last beta hits the cap
    for i in range(steps - 1):
        assert s.alphas_cumprod[i].item() == pytest.approx(_ab((i + 1) / steps) / _ab(0.0), rel=1e-10)
    assert s.betas[-1].item() == 0.999
    assert s.time_scale == 1000 // steps


def test_cosine_caps_betas_as_the_reference():
    # at the last step alpha_bar(1) ≈ 0, so 1 − ratio ≈ 1 and the cap 0.999 applies
    b = named_beta_schedule("cosine", 50)
    assert b.max().item() == 0.999
    raw = 1 - _ab(50 / 50) / _ab(49 / 50)
    assert raw > 0.999
    assert b[48].item() == pytest.approx(1 - _ab(49 / 50) / _ab(48 / 50), rel=1e-12)


def test_linear_schedule():
    b = named_beta_schedule("linear", 50)
    assert b[0].item() == pytest.approx(20 * 1e-4) and b[-1].item() == pytest.approx(20 * 0.02)
    assert torch.allclose(b.diff(), b.diff()[0].expand(49))


def test_bad_config():
    with pytest.raises(ConfigError, match="schedule"):
        Sampler(10, "sqrt")
    with pytest.raises(ConfigError, match="prediction"):
        Sampler(10, prediction="x0")
    with pytest.raises(ConfigError, match="steps"):
        Sampler(0)
    with pytest.raises(ConfigError, match="steps"):
        Sampler(1001)
    with pytest.raises(ConfigError, match="threshold"):
        Sampler(10, threshold_percentile=1.5)


def test_posterior_closed_form():
    s = Sampler(20)
    g = torch.Generator().manual_seed(1)
    x0, x = torch.randn(SHAPE, generator=g, dtype=torch.float64), torch.randn(SHAPE, generator=g, dtype=torch.float64)
    for t in (0, 1, 7, 19):
        ac = s.alphas_cumprod[t].item()
        ac_prev = s.alphas_cumprod[t - 1].item() if t > 0 else 1.0
        beta = 1 - ac / ac_prev
        mean, var, log_var = s.posterior(x0, x, t)
        want = (math.sqrt(ac_prev) * beta * x0 + math.sqrt(1 - beta) * (1 - ac_prev) * x) / (1 - ac)
        torch.testing.assert_close(mean, want)
        assert var == pytest.approx(beta * (1 - ac_prev) / (1 - ac), rel=1e-12)
        if t > 0:
            assert log_var == pytest.approx(math.log(var), rel=1e-12)
    # t = 0: variance 0, the reference logs variance[1] in its place, mean = x0
    assert s.posterior(x0, x, 0)[1] == 0.0
    assert s.posterior(x0, x, 0)[2] == pytest.approx(math.log(s.posterior_variance[1].item()))
    torch.testing.assert_close(s.posterior(x0, x, 0)[0], x0)


# --- parameterisations, thresholding, guidance -----------------------------------------------

def test_eps_and_v_give_the_same_x0():
    g = torch.Generator().manual_seed(2)
    x0 = torch.rand(SHAPE, generator=g, dtype=torch.float64) * 2 - 1
    eps = torch.randn(SHAPE, generator=g, dtype=torch.float64)
    se, sv = Sampler(30, prediction="epsilon"), Sampler(30, prediction="v")
    for t in (0, 5, 29):
        x = se.q_sample(x0, t, eps)
        torch.testing.assert_close(se.predict_x0(x, t, eps), x0)
        torch.testing.assert_close(sv.predict_x0(x, t, sv.v_target(x0, eps, t)), x0)


def test_row_quantile_matches_torch_quantile():
    g = torch.Generator().manual_seed(3)
    for n in (1, 2, 7, 50, 1001):
        rows = torch.randn(4, n, generator=g).abs()
        for q in (0.5, 0.98, 1.0):
            torch.testing.assert_close(_row_quantile(rows, q), torch.quantile(rows, q, dim=1))


def test_dynamic_thresholding():
    s = Sampler(10)
    x = torch.linspace(-0.9, 0.9, 120).reshape(1, 2, 6, 10)
    big = torch.linspace(-3.0, 3.0, 120).reshape(1, 2, 6, 10)
    spiky = x.clone()
    spiky[0, 0, 0, :2] = torch.tensor([5.0, -7.0])  # 2 outliers in 120 values: under the 98th percentile
    out = s.threshold(torch.cat([x, big, spiky]))
    # within [-1, 1] the percentile clamps to 1: values untouched
    assert torch.equal(out[0], x[0])
    # percentile s > 1: clip to [-s, s] and divide by s (Imagen)
    q = torch.quantile(big.abs().flatten(), 0.98).item()
    assert q > 1
    torch.testing.assert_close(out[1], big[0].clamp(-q, q) / q)
    assert out[1].abs().max() == pytest.approx(1.0)
    # outliers below the percentile are clipped to ±1, the rest untouched
    assert out[2, 0, 0, 0] == 1.0 and out[2, 0, 0, 1] == -1.0
    assert torch.equal(out[2].flatten()[2:], x[0].flatten()[2:])
    # rows are thresholded independently
    assert torch.equal(s.threshold(big)[0], out[1])
    # without a percentile: plain clipping
    assert torch.equal(Sampler(10, threshold_percentile=None).threshold(big), big.clamp(-1, 1))


def test_cfg_formula():
    cond, uncond = torch.tensor([1.0, 2.0]), torch.tensor([0.5, -1.0])
    torch.testing.assert_close(cfg_combine(cond, uncond, 5.0), torch.tensor([6 * 1.0 - 5 * 0.5, 6 * 2.0 + 5.0]))
    torch.testing.assert_close(cfg_combine(cond, uncond, 0.0), cond)


def test_guidance_paths_agree():
    """A (cond, uncond) pair, a separate uncond_fn and a pre-combined model give one trajectory."""
    s = Sampler(6)

    def cond(x, t):
        return 0.3 * x + 0.001 * t.float().view(-1, 1, 1, 1)

    def uncond(x, t):
        return -0.2 * x

    w = 2.5
    a = s.sample(lambda x, t: (cond(x, t), uncond(x, t)), SHAPE, 7, guidance_scale=w)
    b = s.sample(cond, SHAPE, 7, guidance_scale=w, uncond_fn=uncond)
    c = s.sample(lambda x, t: (w + 1) * cond(x, t) - w * uncond(x, t), SHAPE, 7)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.testing.assert_close(a, c, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="uncond"):
        s.sample(cond, SHAPE, 7, guidance_scale=w)
    with pytest.raises(ValueError, match="guidance_scale"):
        s.sample(lambda x, t: (cond(x, t), uncond(x, t)), SHAPE, 7)


# --- the loop --------------------------------------------------------------------------------

def _oracle(s: Sampler, x0: torch.Tensor):
    """A network that knows x0: outputs the exact ε (or v) of the current sample."""
    def fn(x, t_model):
        t = int(t_model[0]) // s.time_scale
        assert torch.all(t_model == t * s.time_scale)
        sa, s1 = s.sqrt_alphas_cumprod[t].item(), s.sqrt_one_minus_alphas_cumprod[t].item()
        eps = (x - sa * x0) / s1
        return eps if s.prediction == "epsilon" else sa * eps - s1 * x0
    return fn


@pytest.mark.parametrize("prediction", ["epsilon", "v"])
def test_oracle_recovers_x0(prediction):
    s = Sampler(25, prediction=prediction)
    x0 = torch.rand(SHAPE, generator=torch.Generator().manual_seed(4)) * 1.8 - 0.9
    out = s.sample(_oracle(s, x0), SHAPE, generator=5)
    torch.testing.assert_close(out, x0, rtol=1e-4, atol=1e-4)


def test_model_sees_scaled_times():
    seen = []
    s = Sampler(20)
    s.sample(lambda x, t: (seen.append(t.clone()), torch.zeros_like(x))[1], SHAPE, 0)
    assert [int(t[0]) for t in seen] == [t * 50 for t in range(19, -1, -1)]
    assert all(t.dtype == torch.long and t.shape == (SHAPE[0],) for t in seen)


def _numpy_reference(steps, x_T, noises, model, w, pred="epsilon", percentile=0.98):
    """Direct numpy (float64) transcription of the reference BaseDiffusion loop."""
    def ab(u):
        return math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2
    betas = np.array([min(1 - ab((i + 1) / steps) / ab(i / steps), 0.999) for i in range(steps)])
    alphas = 1 - betas
    ac = np.cumprod(alphas)
    ac_prev = np.concatenate([[1.0], ac[:-1]])
    c1 = np.sqrt(ac_prev) * betas / (1 - ac)
    c2 = np.sqrt(alphas) * (1 - ac_prev) / (1 - ac)
    var = betas * (1 - ac_prev) / (1 - ac)
    log_var = np.log(np.concatenate([[var[1]], var[1:]]))
    x = x_T.copy()
    k = 0
    for t in range(steps - 1, -1, -1):
        cond, uncond = model(x, t * (1000 // steps))
        p = (w + 1) * cond - w * uncond
        if pred == "v":
            x0 = np.sqrt(ac[t]) * x - np.sqrt(1 - ac[t]) * p
        else:
            x0 = (x - np.sqrt(1 - ac[t]) * p) / np.sqrt(ac[t])
        q = np.quantile(np.abs(x0.reshape(len(x0), -1)), percentile, axis=1)
        q = np.maximum(q, 1.0).reshape(-1, *([1] * (x0.ndim - 1)))
        x0 = np.clip(x0, -q, q) / q
        mean = c1[t] * x0 + c2[t] * x
        if t > 0:
            x = mean + np.exp(0.5 * log_var[t]) * noises[k]
            k += 1
        else:
            x = mean
    return x


@pytest.mark.parametrize("prediction", ["epsilon", "v"])
def test_matches_numpy_reference(prediction):
    steps, w = 12, 5.0
    # a toy model whose outputs push x0 outside [-1, 1], so thresholding is exercised
    def model_np(x, tm):
        return 1.7 * x + 0.002 * tm, -0.4 * x + 0.5

    def model_t(x, tm):
        c, u = model_np(x.double().numpy(), tm.double().view(-1, 1, 1, 1).numpy())
        return torch.from_numpy(c).float(), torch.from_numpy(u).float()

    s = Sampler(steps, prediction=prediction)
    out = s.sample(model_t, SHAPE, generator=11, guidance_scale=w)
    g = torch.Generator().manual_seed(11)
    draws = [torch.randn(SHAPE, generator=g).double().numpy() for _ in range(steps)]
    ref = _numpy_reference(steps, draws[0], draws[1:], lambda x, tm: model_np(x, tm), w, prediction)
    np.testing.assert_allclose(out.double().numpy(), ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("prediction", ["epsilon", "v"])
def test_matches_diffusers_ddpm(prediction):
    """diffusers' DDPMScheduler, configured as the reference, gives the same trajectory."""
    from diffusers import DDPMScheduler

    steps = 15
    sched = DDPMScheduler(num_train_timesteps=steps, beta_schedule="squaredcos_cap_v2",
                          prediction_type="v_prediction" if prediction == "v" else "epsilon",
                          thresholding=True, dynamic_thresholding_ratio=0.98, sample_max_value=1e9,
                          clip_sample=False, variance_type="fixed_small")
    sched.set_timesteps(steps)

    def model(x, tm):
        return 1.3 * x - 0.1

    g = torch.Generator().manual_seed(12)
    x = torch.randn(SHAPE, generator=g)
    for t in sched.timesteps:
        x = sched.step(model(x, t * (1000 // steps)), t, x, generator=g).prev_sample
    ours = Sampler(steps, prediction=prediction).sample(model, SHAPE, generator=12)
    torch.testing.assert_close(ours, x, rtol=1e-4, atol=1e-4)


def test_deterministic_by_seed():
    s = Sampler(8)

    def model(x, t):
        return 0.5 * x

    a = s.sample(model, SHAPE, generator=3)
    b = s.sample(model, SHAPE, generator=torch.Generator().manual_seed(3))
    c = s.sample(model, SHAPE, generator=4)
    assert torch.equal(a, b) and not torch.allclose(a, c)


def test_per_sample_generators_make_batches_invariant():
    """Row i's result depends only on its own generator, not on the rest of the batch."""
    s = Sampler(6)

    def model(x, t):  # per-row model (like the UNet on independent samples)
        return torch.tanh(x) * 0.8

    seeds = [101, 202, 303, 404]
    full = s.sample(model, (4, 2, 3, 3), generator=seeds)
    for i, sd in enumerate(seeds):
        alone = s.sample(model, (1, 2, 3, 3), generator=[sd])
        torch.testing.assert_close(full[i:i + 1], alone, rtol=0, atol=0)
    sub = s.sample(model, (2, 2, 3, 3), generator=[seeds[2], seeds[0]])
    torch.testing.assert_close(sub, full[[2, 0]], rtol=0, atol=0)
    # groups of rows: two "videos" of 3 frames each, one generator per video
    vids = s.sample(model, (6, 2, 3, 3), generator=[7, 8])
    torch.testing.assert_close(vids[3:], s.sample(model, (3, 2, 3, 3), generator=[8]), rtol=0, atol=0)
    with pytest.raises(ValueError, match="equal groups"):
        make_noise([1, 2, 3, 4], (6, 2))


def test_x_T_dtype_and_shape_checks():
    s = Sampler(4)
    x_T = torch.randn(SHAPE, generator=torch.Generator().manual_seed(0))

    def model(x, t):
        return torch.zeros_like(x)

    a = s.sample(model, SHAPE, generator=0)
    b = s.sample(model, SHAPE, generator=0, x_T=x_T)  # x_T given: first draw skipped
    assert not torch.equal(a, b)
    h = s.sample(model, SHAPE, generator=0, dtype=torch.float64)
    assert h.dtype == torch.float64
    torch.testing.assert_close(h.float(), a, rtol=1e-5, atol=1e-5)
    bf = s.sample(model, SHAPE, generator=0, dtype=torch.bfloat16)  # noise drawn in fp32, then cast
    assert bf.dtype == torch.bfloat16
    torch.testing.assert_close(bf.float(), a, rtol=0.05, atol=0.05)
    with pytest.raises(ValueError, match="x_T"):
        s.sample(model, SHAPE, x_T=x_T[:1])
    with pytest.raises(ValueError, match="model output"):
        s.sample(lambda x, t: x[:1], SHAPE, generator=0)


def test_progress_bar(capsys):
    Sampler(3).sample(lambda x, t: torch.zeros_like(x), (1, 1, 2, 2), generator=0, progress=True)
    assert "sampling" in capsys.readouterr().err


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_same_noise_on_cuda_with_cpu_generator():
    s = Sampler(5)
    cpu = s.sample(lambda x, t: 0.5 * x, SHAPE, generator=9)
    gpu = s.sample(lambda x, t: 0.5 * x, SHAPE, generator=9, device="cuda")
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-4, atol=1e-5)
