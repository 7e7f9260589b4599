"""Rotary positions: a rotation by the position, so that attention sees distances."""

import math

import torch

from charloom.models.rotary import Rotary

HS = 8


def turned(x: torch.Tensor, position: int, rotary: Rotary) -> torch.Tensor:
    return rotary(x[None, None, None, :], torch.tensor([position]))[0, 0, 0]


def test_a_query_and_key_meet_by_their_distance_alone():
    rotary = Rotary(HS, 64)
    q, k = torch.randn(HS), torch.randn(HS)
    for distance in (0, 1, 5):
        scores = [turned(q, s + distance, rotary) @ turned(k, s, rotary) for s in (0, 3, 20, 40)]
        torch.testing.assert_close(torch.stack(scores), scores[0].expand(4), atol=1e-5, rtol=1e-5)
    far, near = turned(q, 9, rotary) @ turned(k, 0, rotary), turned(q, 1, rotary) @ turned(k, 0, rotary)
    assert not torch.isclose(far, near)  # and the distance matters


def test_each_pair_turns_by_position_times_its_frequency():
    rotary = Rotary(HS, 16)
    x = torch.randn(HS)
    p = 7
    out = turned(x, p, rotary)
    half = HS // 2
    for i in range(half):
        angle = p * 10_000 ** (-2 * i / HS)
        c, s = math.cos(angle), math.sin(angle)
        expected = (x[i] * c - x[half + i] * s, x[i] * s + x[half + i] * c)
        torch.testing.assert_close(out[[i, half + i]], torch.tensor(expected), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out.norm(), x.norm())  # a rotation keeps lengths
    torch.testing.assert_close(turned(x, 0, rotary), x)  # position 0: no turn


def test_positions_per_row_turn_each_row_by_its_own():
    rotary = Rotary(HS, 16)
    x = torch.randn(2, 3, 5, HS)  # (B, nh, T, hs)
    positions = torch.tensor([[0, 1, 2, 3, 4], [4, 0, 1, 0, 2]])
    out = rotary(x, positions)
    for b in range(2):
        torch.testing.assert_close(out[b], rotary(x[b], positions[b]))
