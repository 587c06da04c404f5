"""FusionFrames text conditioning: tokenisation, the reference's context/mask rules, loading."""
from __future__ import annotations

import pytest
import torch

from ffbench.errors import ConfigError
from ffbench.fusionframes.text import TOKENS_LENGTH, TextEncoder, _default_encoder_dtype
from ffbench.weights import WeightsMissing

PROMPTS = ["a cat", "a man playing guitar on the beach at sunset"]


@pytest.fixture(scope="module")
def tiny():
    return TextEncoder.tiny(seed=0)


def _n_tokens(te, prompt):
    return len(te.tokenizer(prompt)["input_ids"])


def test_tiny_shapes_and_lengths(tiny):
    ctx, mask = tiny.encode(PROMPTS)
    n = [_n_tokens(tiny, p) for p in PROMPTS]
    assert n[0] < n[1] < TOKENS_LENGTH
    # reference: context cut to (longest mask) + 1 positions
    assert ctx.shape == (2, max(n) + 1, 32) and ctx.dtype == torch.float32
    assert mask.shape == (2, max(n) + 1) and mask.dtype == torch.bool
    assert mask.sum(1).tolist() == n
    # masked positions are zero, unmasked ones are not
    assert torch.all(ctx[~mask] == 0)
    assert torch.all(ctx[mask].abs().sum(-1) > 0)
    assert tiny.random_weights is True


def test_tiny_is_seeded(tiny):
    again = TextEncoder.tiny(seed=0)
    other = TextEncoder.tiny(seed=1)
    a, _ = tiny.encode(PROMPTS)
    assert torch.equal(a, again.encode(PROMPTS)[0])
    assert not torch.allclose(a, other.encode(PROMPTS)[0])
    assert torch.equal(tiny.null_embedding, again.null_embedding)
    again.train()  # inference only: stays in eval mode (no dropout)
    assert not again.training and not again.encoder.training


def test_batch_of_one_is_prefix_of_batch(tiny):
    """Tokens are padded to 128 before the encoder, so only the final cut depends on the batch."""
    batch, bmask = tiny.encode(PROMPTS)
    for i, (ctx, mask) in enumerate(tiny.encode_each(PROMPTS)):
        L = ctx.shape[1]
        assert L == _n_tokens(tiny, PROMPTS[i]) + 1
        torch.testing.assert_close(batch[i, :L], ctx[0], rtol=1e-5, atol=1e-6)
        assert torch.equal(bmask[i, :L], mask[0])
        assert torch.all(batch[i, L:] == 0) and not bmask[i, L:].any()


def test_truncation_is_counted(tiny):
    long = "a dog running " * 80
    before_seen, before_trunc = tiny.prompts_seen, tiny.prompts_truncated
    assert tiny.truncated([long, "a cat"]) == [True, False]
    tok = tiny.tokenize([long, "a cat"])
    assert tok["truncated"] == [True, False]
    assert tiny.prompts_seen - before_seen == 2 and tiny.prompts_truncated - before_trunc == 1
    ids = tok["input_ids"]
    assert ids.shape == (2, TOKENS_LENGTH)
    assert ids[0, -1] == tiny.tokenizer.eos_token_id  # EOS kept after truncation
    assert tok["attention_mask"][0].all()
    ctx, mask = tiny.encode([long])
    assert ctx.shape[1] == TOKENS_LENGTH  # max + 1 cannot exceed the padded length
    assert mask.all()


def test_unconditional_null_embedding_rule(tiny):
    ctx, mask = tiny.encode(PROMPTS)
    uctx, umask = tiny.unconditional(2, ctx.shape[1])
    assert uctx.shape == ctx.shape and umask.shape == mask.shape
    assert torch.equal(uctx[:, 0], tiny.null_embedding.expand(2, -1))
    assert torch.all(uctx[:, 1:] == 0)
    assert umask[:, 0].all() and not umask[:, 1:].any()
    cond = tiny.condition(PROMPTS)
    assert torch.equal(cond.context, ctx) and torch.equal(cond.uncond_context, uctx)
    assert torch.equal(cond.uncond_mask, umask) and cond.truncated == [False, False]


def test_negative_prompt_follows_reference_rule(tiny):
    prompts = ["a red car in the city", "a cat"]
    negatives = ["a cat", "blurry, low quality, ugly picture"]
    tok = tiny.tokenize(prompts, negatives)
    eos, pad = tiny.tokenizer.eos_token_id, tiny.tokenizer.pad_token_id
    for i in range(2):
        n_pos = _n_tokens(tiny, prompts[i])
        neg_full = tiny.tokenizer(negatives[i])["input_ids"]
        ids = tok["negative_input_ids"][i].tolist()
        expected = neg_full[:n_pos]
        expected[-1] = eos
        assert ids[:len(expected)] == expected
        assert all(x == pad for x in ids[len(expected):])
        # the negative prompt is encoded with the positive prompt's mask
        assert torch.equal(tok["negative_attention_mask"][i], tok["attention_mask"][i])
    # first negative is shorter than its prompt, second longer (cut, EOS last)
    assert len(tiny.tokenizer(negatives[0])["input_ids"]) < _n_tokens(tiny, prompts[0])
    assert len(tiny.tokenizer(negatives[1])["input_ids"]) > _n_tokens(tiny, prompts[1])
    cond = tiny.condition(prompts, negatives)
    ref_ctx, ref_mask = tiny.encode_tokens(tok["negative_input_ids"], tok["negative_attention_mask"])
    assert torch.equal(cond.uncond_context, ref_ctx) and torch.equal(cond.uncond_mask, cond.mask)
    assert cond.uncond_context.shape == cond.context.shape
    assert not torch.allclose(cond.uncond_context, tiny.unconditional(2, cond.context.shape[1])[0])
    u, m = tiny.unconditional(2, negative_prompts=negatives, prompts=prompts)
    assert torch.equal(u, ref_ctx)
    with pytest.raises(ConfigError, match="prompts="):
        tiny.unconditional(2, negative_prompts=negatives)
    with pytest.raises(ConfigError, match="negative prompts"):
        tiny.tokenize(prompts, negatives[:1])


def test_projection_is_linear_then_layernorm(tiny):
    tok = tiny.tokenize(PROMPTS)
    hidden = tiny.encoder(input_ids=tok["input_ids"], attention_mask=tok["attention_mask"]).last_hidden_state
    proj = tiny.projections["t5"]
    expected = torch.nn.functional.layer_norm(hidden @ proj[0].weight.T, (32,), proj[1].weight, proj[1].bias)
    ctx, mask = tiny.encode(PROMPTS)
    L = ctx.shape[1]
    m = tok["attention_mask"][:, :L].bool()
    torch.testing.assert_close(ctx[m], expected[:, :L][m].detach(), rtol=1e-4, atol=1e-5)


def test_projection_keys_load_strict():
    te = TextEncoder.tiny(seed=3, context_dim=48)
    g = torch.Generator().manual_seed(0)
    fake = {"t5.0.weight": torch.randn(48, 32, generator=g), "t5.1.weight": torch.rand(48, generator=g),
            "t5.1.bias": torch.randn(48, generator=g)}
    assert set(te.projections.state_dict()) == set(fake)
    te.load_projections(fake)
    assert torch.equal(te.projections["t5"][0].weight, fake["t5.0.weight"])
    assert torch.equal(te.projections["t5"][1].bias, fake["t5.1.bias"])
    with pytest.raises(RuntimeError, match="t5.1.bias"):
        te.load_projections({k: v for k, v in fake.items() if k != "t5.1.bias"})
    with pytest.raises(RuntimeError, match="Unexpected key"):
        te.load_projections({**fake, "t5.2.weight": torch.zeros(1)})
    null = torch.randn(48, generator=g)
    te.load_conditioning({"unet": {}, "projections": fake, "null_embedding": null})
    assert torch.equal(te.null_embedding, null)
    assert torch.equal(te.unconditional(1, 3)[0][0, 0], null)
    with pytest.raises(ConfigError, match="null_embedding"):
        te.load_conditioning({"projections": fake})
    with pytest.raises(ConfigError, match="shape"):
        te.set_null_embedding(torch.zeros(32))


def test_bad_embeddings_are_zeroed_and_masked(tiny, monkeypatch):
    """Reference: inf/nan output → the sample's embeddings zeroed → its mask zeroed."""
    real = tiny.encoder.forward

    def broken(*a, **k):
        out = real(*a, **k)
        out.last_hidden_state[1, 0, 0] = float("nan")
        return out

    monkeypatch.setattr(tiny.encoder, "forward", broken)
    ctx, mask = tiny.encode(PROMPTS)
    assert not mask[1].any() and torch.all(ctx[1] == 0)
    assert ctx.shape[1] == _n_tokens(tiny, PROMPTS[0]) + 1  # length set by the healthy prompt
    assert mask[0].sum() == _n_tokens(tiny, PROMPTS[0])


def test_bad_prompts(tiny):
    with pytest.raises(ConfigError, match="empty"):
        tiny.encode([])
    with pytest.raises(ConfigError, match="strings"):
        tiny.encode(["ok", 3])
    assert tiny.encode("a cat")[0].shape[0] == 1


def test_missing_flan_ul2_folder_names_it(tmp_path):
    missing = tmp_path / "flan-ul2"
    with pytest.raises(WeightsMissing) as err:
        TextEncoder.from_pretrained(missing)
    assert str(missing) in str(err.value) and "flan-ul2" in str(err.value)
    with pytest.raises(WeightsMissing, match="google/flan-ul2"):
        TextEncoder.from_pretrained()  # nothing in FFBENCH_HOME either


def test_incomplete_folder_is_reported(tmp_path):
    folder = tmp_path / "flan-ul2"
    folder.mkdir()
    (folder / "README.md").write_text("no weights here")
    with pytest.raises(WeightsMissing, match="incomplete") as err:
        TextEncoder.from_pretrained(folder)
    assert str(folder) in str(err.value)


def test_from_pretrained_loads_a_local_folder(tiny, tmp_path):
    """The real loading path, on a tiny model saved in the Hugging Face folder layout."""
    folder = tmp_path / "flan-ul2"
    tiny.encoder.save_pretrained(folder)
    tiny.tokenizer.save_pretrained(folder)
    te = TextEncoder.from_pretrained(folder, context_dim=32)
    assert te.random_weights is False
    with pytest.raises(ConfigError, match="projections not loaded"):
        te.encode(PROMPTS)
    te.load_projections(tiny.projections.state_dict())
    with pytest.raises(ConfigError, match="null embedding not loaded"):
        te.unconditional(2, 4)
    te.set_null_embedding(tiny.null_embedding)
    want, want_mask = tiny.encode(PROMPTS)
    got, got_mask = te.encode(PROMPTS)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    assert torch.equal(got_mask, want_mask)

    half = TextEncoder.from_pretrained(folder, encoder_dtype=torch.bfloat16, context_dim=32,
                                       projections=tiny.projections.state_dict(),
                                       null_embedding=tiny.null_embedding)
    assert next(half.encoder.parameters()).dtype == torch.bfloat16
    assert half.projections["t5"][0].weight.dtype == torch.float32
    ctx, _ = half.encode(PROMPTS)
    assert ctx.dtype == torch.float32
    torch.testing.assert_close(ctx, want, rtol=0.1, atol=0.1)


def test_checkpoint_file_loading(tmp_path):
    te = TextEncoder.tiny(seed=4)
    src = TextEncoder.tiny(seed=5)
    path = tmp_path / "kandinsky_video.pt"
    torch.save({"unet": {}, "projections": src.projections.state_dict(),
                "null_embedding": src.null_embedding.clone()}, path)
    te.load_keyframe_checkpoint(path)
    assert torch.equal(te.null_embedding, src.null_embedding)
    assert torch.equal(te.projections["t5"][0].weight, src.projections["t5"][0].weight)


def test_encoder_dtype_defaults():
    assert _default_encoder_dtype("cuda") == torch.float16  # the reference's .half()
    assert _default_encoder_dtype("cpu") == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fp16_encoder_on_cuda(tiny, tmp_path):
    """On CUDA the encoder loads in fp16 by default (as the reference); contexts stay float32."""
    folder = tmp_path / "flan-ul2"
    tiny.encoder.save_pretrained(folder)
    tiny.tokenizer.save_pretrained(folder)
    te = TextEncoder.from_pretrained(folder, device="cuda", context_dim=32,
                                     projections=tiny.projections.state_dict(),
                                     null_embedding=tiny.null_embedding)
    assert next(te.encoder.parameters()).dtype == torch.float16
    cond = te.condition(PROMPTS)
    assert cond.context.device.type == "cuda" and cond.context.dtype == torch.float32
    want, want_mask = tiny.encode(PROMPTS)
    torch.testing.assert_close(cond.context.cpu(), want, rtol=2e-2, atol=2e-2)
    assert torch.equal(cond.mask.cpu(), want_mask)
    assert cond.uncond_context.device.type == "cuda"
