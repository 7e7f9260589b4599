"""RNN, GRU and LSTM: the equation cells compute what PyTorch's fused modules compute."""

from __future__ import annotations

import pytest
import torch

from charloom.models.recurrent_cells import CellWeights, GRUCell, LSTMCell, RNNCell

RECURRENT = ["rnn", "gru", "lstm"]
V = 11


def _twins(make, family, **options):
    """The same weights in a fused and in an equations model."""
    fused = make(family, cell_impl="fused", **options)
    equations = make(family, cell_impl="equations", seed=1, **options)
    equations.load_state_dict(fused.state_dict())  # strict: the names must match exactly
    return fused, equations


@pytest.mark.parametrize("family", RECURRENT)
def test_equations_and_fused_agree_forward_and_backward(make, family):
    fused, equations = _twins(make, family, dropout=0.0)
    idx = torch.randint(0, V, (3, 9))
    targets = torch.randint(0, V, (3, 9))
    grads = []
    for model in (fused, equations):
        logits, _ = model(idx)
        torch.nn.functional.cross_entropy(logits.reshape(-1, V), targets.reshape(-1)).backward()
        grads.append({name: p.grad for name, p in model.named_parameters()})
    torch.testing.assert_close(fused(idx)[0], equations(idx)[0], atol=1e-5, rtol=1e-5)
    for name, grad in grads[0].items():
        torch.testing.assert_close(grad, grads[1][name], atol=1e-5, rtol=1e-5, msg=name)


@pytest.mark.parametrize("family", RECURRENT)
def test_equations_and_fused_agree_step_by_step(make, family):
    fused, equations = _twins(make, family)
    fused.eval()
    equations.eval()
    idx = torch.randint(0, V, (3, 6))
    with torch.no_grad():
        state_f, state_e = fused.init_state(3), equations.init_state(3)
        for t in range(6):
            logits_f, state_f = fused(idx[:, t : t + 1], state_f)
            logits_e, state_e = equations(idx[:, t : t + 1], state_e)
            torch.testing.assert_close(logits_f, logits_e, atol=1e-5, rtol=1e-5)
    for name in state_f:
        torch.testing.assert_close(state_f[name], state_e[name], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("family", RECURRENT)
@pytest.mark.parametrize("cell_impl", ["fused", "equations"])
def test_state_is_batch_first(make, family, cell_impl):
    model = make(family, cell_impl=cell_impl, n_layer=3, hidden=5)
    _, state = model(torch.zeros(4, 1, dtype=torch.long), model.init_state(4))
    assert set(state) == ({"h", "c"} if family == "lstm" else {"h"})
    for tensor in state.values():
        assert tensor.shape == (4, 3, 5)  # (B, L, H)


@pytest.mark.parametrize("family", RECURRENT)
def test_zero_initial_state_has_no_parameters(make, family):
    model = make(family, learned_init=False)
    assert not any(name.startswith("initial") for name, _ in model.named_parameters())
    assert all((s == 0).all() for s in model.init_state(2).values())


@pytest.mark.parametrize("cell_impl", ["fused", "equations"])
def test_lstm_forget_gate_starts_open(make, cell_impl):
    model = make("lstm", cell_impl=cell_impl)
    H = model.config.hidden
    for k in range(model.config.n_layer):
        b = getattr(model.rnn, f"bias_ih_l{k}") + getattr(model.rnn, f"bias_hh_l{k}")
        torch.testing.assert_close(b[H : 2 * H], torch.ones(H))  # gate order i, f, g, o


def test_cells_follow_their_equations():
    """One step by hand, in the notation of the docstrings."""
    torch.manual_seed(0)
    B, D, H = 2, 3, 4  # batch, input size, hidden size
    x, h, c = torch.randn(B, D), torch.randn(B, H), torch.randn(B, H)

    def weights(gates: int) -> CellWeights:
        G = gates * H
        return CellWeights(torch.randn(G, D), torch.randn(G, H), torch.randn(G), torch.randn(G))

    w = weights(1)
    expected = torch.tanh(x @ w[0].T + w[2] + h @ w[1].T + w[3])
    torch.testing.assert_close(RNNCell()(x, h, w), expected)

    w = weights(3)
    gx, gh = x @ w[0].T + w[2], h @ w[1].T + w[3]
    r = torch.sigmoid(gx[:, :H] + gh[:, :H])
    z = torch.sigmoid(gx[:, H : 2 * H] + gh[:, H : 2 * H])
    n = torch.tanh(gx[:, 2 * H :] + r * gh[:, 2 * H :])
    torch.testing.assert_close(GRUCell()(x, h, w), (1 - z) * n + z * h)

    w = weights(4)
    g = x @ w[0].T + w[2] + h @ w[1].T + w[3]
    i, f, o = torch.sigmoid(g[:, :H]), torch.sigmoid(g[:, H : 2 * H]), torch.sigmoid(g[:, 3 * H :])
    c_next = f * c + i * torch.tanh(g[:, 2 * H : 3 * H])
    h_next, c_out = LSTMCell()(x, (h, c), w)
    torch.testing.assert_close(c_out, c_next)
    torch.testing.assert_close(h_next, o * torch.tanh(c_next))
