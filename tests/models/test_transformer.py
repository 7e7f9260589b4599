"""The GPT: key/value cache, sliding window past block_size, init, weight tying, and the
ingredients of the newer block (rotary positions, QK-norm, ReLU^2, soft-capped logits),
each switchable back to the lectures' GPT."""

from __future__ import annotations

import math

import pytest
import torch

from charloom.models.transformer import GPT2_BLOCK, Transformer, TransformerConfig

V = 11


BLOCKS = pytest.mark.parametrize("block", [GPT2_BLOCK, {}], ids=["gpt2", "default"])


@BLOCKS
@pytest.mark.parametrize("block_size", [2, 4])
def test_steps_past_block_size_match_forward_on_the_last_block(make, block_size, block):
    model = make("transformer", block_size=block_size, **block).eval()
    idx = torch.randint(0, V, (3, 3 * block_size + 2))
    with torch.no_grad():
        state = model.init_state(3)
        for t in range(idx.shape[1]):
            logits, state = model(idx[:, t : t + 1], state)
            window = idx[:, max(0, t + 1 - block_size) : t + 1]  # the last block_size tokens
            torch.testing.assert_close(logits[:, -1], model(window)[0][:, -1], atol=1e-5, rtol=1e-5)
            assert state["pos"] == min(t + 1, block_size)


def test_cache_fills_one_position_per_step_with_the_keys_forward_computes(make):
    model = make("transformer").eval()
    tokens = torch.tensor([[1, 2, 3], [2, 2, 1]])
    state = model.init_state(2)
    with torch.no_grad():
        for t in range(3):
            _, state = model(tokens[:, t : t + 1], state)
            assert state["pos"] == t + 1
        _, full = model._run(tokens, 0, None)
    for (k, v), (k_full, v_full) in zip(state["kv"], full, strict=True):
        assert k.shape == v.shape == (model.config.block_size, 2, 2, 8)  # (block, B, nh, hs)
        # forward's keys are (B, nh, T, hs)
        assert torch.allclose(k[:3], k_full.permute(2, 0, 1, 3), atol=1e-6)
        assert torch.allclose(v[:3], v_full.permute(2, 0, 1, 3), atol=1e-6)


def test_dropping_rows_keeps_the_cache_of_the_rows_kept(make):
    model = make("transformer").eval()
    tokens = torch.tensor([[1, 2, 3, 1], [2, 2, 1, 3], [3, 1, 2, 2]])
    with torch.no_grad():
        expected = model(tokens)[0][[2, 0], -1]
        state = model.init_state(3)
        _, state = model(tokens[:, :3], state)
        state = model.select_state(state, torch.tensor([2, 0]))
        logits, _ = model(tokens[[2, 0], 3:], state)
    assert torch.allclose(logits[:, -1], expected, atol=1e-5)


def test_a_sequence_longer_than_block_size_sees_the_block_before_each_position(make):
    model = make("transformer", block_size=4).eval()
    idx = torch.randint(0, V, (2, 9))
    with torch.no_grad():
        logits, state = model(idx)
        assert logits.shape == (2, 9, V) and state is None
        for t in range(9):
            window = idx[:, max(0, t - 3) : t + 1]
            torch.testing.assert_close(logits[:, t], model(window)[0][:, -1], atol=1e-5, rtol=1e-5)


def test_defaults_are_makemores():
    model = Transformer(TransformerConfig(**GPT2_BLOCK), 27)
    assert model.context_size == 16
    assert model.num_parameters() == 204_544  # makemore prints 0.20M


def test_tied_weights_share_one_matrix():
    untied = Transformer(TransformerConfig(tie_weights=False), 27)
    tied = Transformer(TransformerConfig(tie_weights=True), 27)
    assert tied.head.weight is tied.wte.weight
    assert untied.num_parameters() - tied.num_parameters() == 27 * 64


def test_gpt2_residual_projections_start_smaller():
    torch.manual_seed(0)
    n_layer = 8
    model = Transformer(TransformerConfig(n_layer=n_layer, n_embd=128, **GPT2_BLOCK), 27)
    proj = model.blocks[0].mlp.c_proj.weight
    fc = model.blocks[0].mlp.c_fc.weight
    assert proj.std().item() == pytest.approx(0.02 / math.sqrt(2 * n_layer), rel=0.05)
    assert fc.std().item() == pytest.approx(0.02, rel=0.05)


def test_dropout_is_off_in_eval(make):
    model = make("transformer", dropout=0.5).eval()
    idx = torch.randint(0, V, (2, 8))
    torch.testing.assert_close(model(idx)[0], model(idx)[0])


def test_bfloat16_attention_on_the_cpu_stays_causal_and_close_to_float32(make):
    # Under CPU bfloat16 autocast the attention is written out with an explicit mask
    # instead of SDPA's kernel; it must stay causal and agree with the float32 pass.
    model = make("transformer").eval()
    tokens = torch.randint(0, V, (2, 6), generator=torch.Generator().manual_seed(0))
    changed = tokens.clone()
    changed[:, 4:] = (changed[:, 4:] + 1) % V  # only the future of positions 0..3
    with torch.no_grad():
        exact, _ = model(tokens)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            (narrow, _), (narrow_changed, _) = model(tokens), model(changed)
    assert narrow.dtype == torch.bfloat16
    assert torch.equal(narrow[:, :4], narrow_changed[:, :4])  # the past does not see the future
    torch.testing.assert_close(narrow.float(), exact, atol=0.1, rtol=0.05)


@BLOCKS
def test_every_ingredient_can_be_switched_off_one_at_a_time(make, block):
    """Each option alone changes the function the model computes, and each setting of it
    keeps the model causal and its steps equal to its forward pass."""
    idx = torch.randint(0, V, (2, 8), generator=torch.Generator().manual_seed(1))
    base = make("transformer", **block).eval()
    flips = {"position": {"rotary": "learned", "learned": "rotary"}, "norm": {"rmsnorm": "layernorm",
             "layernorm": "rmsnorm"}, "activation": {"relu2": "gelu", "gelu": "relu2"}}  # fmt: skip
    for name in ("position", "norm", "qk_norm", "activation", "logit_softcap"):
        value = getattr(base.config, name)
        other = (
            flips[name][value] if name in flips else (not value if name == "qk_norm" else 0.5 * (not value))
        )
        model = make("transformer", **{**block, name: other}).eval()
        with torch.no_grad():
            logits, _ = model(idx)
            state = model.init_state(2)
            for t in range(idx.shape[1]):
                step, state = model(idx[:, t : t + 1], state)
                torch.testing.assert_close(step[:, 0], logits[:, t], atol=1e-5, rtol=1e-5)
            if name != "position":  # the same weights, so the outputs must differ
                assert not torch.allclose(logits, base(idx)[0], atol=1e-4), name


def test_zero_init_starts_every_block_as_the_identity_and_the_loss_at_ln_v():
    torch.manual_seed(0)
    model = Transformer(TransformerConfig(n_layer=3, n_embd=32), 27)
    for block in model.blocks:
        assert not block.attn.c_proj.weight.any() and not block.mlp.c_proj.weight.any()
    idx = torch.randint(0, 27, (4, 16))
    x = model.wte(idx)
    for block in model.blocks:
        x_after, _ = block(x, torch.arange(16))
        torch.testing.assert_close(x_after, x)  # both branches add zero
    targets = torch.randint(0, 27, (4, 16))
    loss = torch.nn.functional.cross_entropy(model(idx)[0].view(-1, 27), targets.view(-1))
    assert loss.item() == pytest.approx(math.log(27), abs=1e-6)


def test_the_logits_are_soft_capped():
    torch.manual_seed(0)
    model = Transformer(TransformerConfig(logit_softcap=2.0, zero_init=False), 27).eval()
    with torch.no_grad():
        model.head.weight.mul_(1000)  # a head that would give logits in the hundreds
        logits, _ = model(torch.randint(0, 27, (2, 8)))
    assert logits.abs().max() <= 2.0 and logits.abs().max() > 1.9


def test_relu_squared_and_its_gradient():
    from charloom.models.transformer_block import ReLUSquared

    x = torch.tensor([-2.0, -0.5, 0.0, 0.5, 3.0], requires_grad=True)
    y = ReLUSquared()(x)
    y.sum().backward()
    assert y.tolist() == [0.0, 0.0, 0.0, 0.25, 9.0]
    assert x.grad.tolist() == [0.0, 0.0, 0.0, 1.0, 6.0]  # d/dx max(0, x)^2 = 2 max(0, x)


def test_an_older_run_json_without_the_new_options_builds_the_gpt2_block():
    from charloom.models.registry import make_config, saved_config

    saved = {"n_layer": 2, "n_head": 2, "n_embd": 16, "block_size": 8, "dropout": 0.1,
             "attention_dropout": 0.0, "tie_weights": False, "bias": True}  # fmt: skip
    config = make_config("transformer", saved_config("transformer", saved))
    assert {name: getattr(config, name) for name in GPT2_BLOCK} == GPT2_BLOCK


@pytest.mark.parametrize(("options", "named"), [
    ({"position": "absolute"}, "position"),
    ({"n_embd": 12, "n_head": 4}, "must be even"),  # head size 3: no pairs to turn
    ({"logit_softcap": -1.0}, "logit_softcap"),
])  # fmt: skip
def test_bad_block_options_are_named(options, named):
    from charloom.errors import CharloomError

    with pytest.raises(CharloomError, match=named):
        TransformerConfig(**options)
