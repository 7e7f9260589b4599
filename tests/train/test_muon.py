"""Muon for the hidden matrices, AdamW for the rest, and the schedule that ends with the
budget."""

import pytest
import torch

from charloom.models.registry import FAMILIES, make_config
from charloom.train.muon import Muon, orthogonalise
from charloom.train.optim import lr_at, make_optimizer, muon_groups


@pytest.mark.parametrize("shape", [(16, 64), (64, 16), (24, 48)])
def test_the_update_is_orthogonalised(shape):
    g = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
    g[0] *= 100  # one direction far louder than the rest
    wide = g if shape[0] <= shape[1] else g.T
    ortho = orthogonalise(wide[None])[0]
    singular = torch.linalg.svdvals(ortho)
    assert singular.min() > 0.6 and singular.max() < 1.25  # every direction moved about equally
    u, _, vh = torch.linalg.svd(wide, full_matrices=False)
    # the same singular vectors: ortho = U S' V^T with S' near 1
    inner = u.T @ ortho @ vh.T
    torch.testing.assert_close(inner, torch.diag(torch.diagonal(inner)), atol=2e-3, rtol=0)


def test_a_muon_step_is_momentum_then_the_orthogonalised_look_ahead():
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.randn(8, 24))
    before = w.detach().clone()
    optimizer = Muon([{"params": [w], "muon": True}], lr=0.1, momentum=0.9)
    grads = [torch.randn(8, 24) for _ in range(2)]
    buffer = torch.zeros(8, 24)
    for g in grads:
        w.grad = g.clone()
        optimizer.step()
        buffer = 0.9 * buffer + g
        before = before - 0.1 * orthogonalise((g + 0.9 * buffer)[None])[0]  # rows <= cols: scale 1
    torch.testing.assert_close(w.detach(), before)


def test_tall_matrices_take_the_larger_step():
    w = torch.nn.Parameter(torch.zeros(64, 16))
    optimizer = Muon([{"params": [w], "muon": True}], lr=1.0, momentum=0.0)
    w.grad = torch.randn(64, 16)
    optimizer.step()
    expected = 2.0 * orthogonalise(w.grad.T[None])[0].T  # sqrt(max(1, 64 / 16)) = 2
    torch.testing.assert_close(-w.detach(), expected)


def test_the_rest_takes_adamws_step_exactly():
    torch.manual_seed(0)
    ours, theirs = torch.nn.Parameter(torch.randn(5, 3)), None
    theirs = torch.nn.Parameter(ours.detach().clone())
    mine = Muon([{"params": [ours], "weight_decay": 0.1}], lr=1e-2, betas=(0.9, 0.99))
    reference = torch.optim.AdamW([theirs], lr=1e-2, betas=(0.9, 0.99), weight_decay=0.1)
    for _ in range(4):
        g = torch.randn(5, 3)
        ours.grad, theirs.grad = g.clone(), g.clone()
        mine.step()
        reference.step()
    torch.testing.assert_close(ours, theirs)


@pytest.mark.parametrize("family", [f for f in FAMILIES if not FAMILIES[f].fitted_by_counting])
def test_embeddings_and_the_head_stay_with_adamw(family):
    cls = FAMILIES[family]
    model = cls(make_config(family, {}), 11)
    groups = muon_groups(model, 1e-3, 0.1, 0.02)
    matrices = {id(p) for g in groups if g.get("muon") for p in g["params"]}
    for name, param in model.named_parameters():
        kept = name.split(".")[0] in cls.adamw_only
        assert (id(param) in matrices) == (param.dim() == 2 and not kept), name
    optimizer = make_optimizer(model, "muon", 1e-3, 0.1, 0.02)
    assert sum(len(g["params"]) for g in optimizer.param_groups) == len(list(model.parameters()))


def test_wsd_holds_the_peak_then_ends_at_zero_with_the_budget():
    rate = [lr_at("muon", 1.0, progress, 500, 100, None, "wsd", 0.4) for progress in (0.1, 0.59, 0.8, 1.0)]
    assert rate[0] == rate[1] == 1.0  # stable
    assert rate[2] == pytest.approx(0.5)  # halfway down the straight line
    assert rate[3] == 0.0  # at the budget's end
    assert lr_at("muon", 1.0, 0.0, 9, 100, None, "wsd", 0.4) == pytest.approx(0.1)  # warming up


def test_wsd_sqrt_decays_along_one_minus_the_square_root():
    rate = [lr_at("muon", 2.0, p, 500, 100, None, "wsd-sqrt", 0.4) for p in (0.59, 0.7, 0.9, 1.0)]
    assert rate[0] == 2.0  # still at the peak
    assert rate[1] == pytest.approx(2.0 * (1 - 0.25**0.5))  # a quarter into the cooldown: down by half
    assert rate[2] == pytest.approx(2.0 * (1 - 0.75**0.5))  # below the straight line's 0.5
    assert rate[2] < lr_at("muon", 2.0, 0.9, 500, 100, None, "wsd", 0.4)
    assert rate[3] == 0.0


@pytest.mark.parametrize("limit", [{"max_steps": 30}, {"time_budget": 1.5}])
def test_a_run_ends_at_a_rate_of_zero_however_it_is_limited(text_file, tmp_path, limit):
    from charloom import train

    run = train(text_file, "transformer", format="text", out=tmp_path / "run", optimizer="muon", lr=2e-3,
                warmup_steps=2, model_options={"n_layer": 1, "n_embd": 16, "n_head": 2, "block_size": 16},
                batch_size=4, eval_every=10_000, dtype="float32", log=lambda m: None, **limit)  # fmt: skip
    last = run.dir.read_metrics()[-1]
    assert last["lr"] == 0.0  # the schedule reached its end with the budget
    assert run.info["train"]["schedule"] == "wsd" and run.info["train"]["muon_lr"] == 0.05
