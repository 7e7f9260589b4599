"""The callback base class: named hooks with the trainer, refusals, state across resume."""

import pytest

from charloom import Callback, train


class Counter(Callback):
    """Counts steps and evaluations; its count must survive --resume."""

    def __init__(self):
        self.steps = 0
        self.evals: list[int] = []
        self.trainers = set()

    def after_update(self, trainer, step, lr):
        self.steps += 1
        self.trainers.add(id(trainer))

    def on_eval(self, trainer, entry):
        self.evals.append(entry["step"])

    def state_dict(self):
        return {"steps": self.steps}

    def load_state_dict(self, state):
        self.steps = state["steps"]


def test_hooks_receive_the_trainer_and_state_survives_resume(names_file, tmp_path):
    first = Counter()
    train(names_file, "mlp", out=tmp_path / "run", max_steps=6, eval_every=3, callbacks=[first],
          log=lambda m: None)  # fmt: skip
    assert first.steps == 6 and first.evals == [0, 3, 6] and len(first.trainers) == 1
    second = Counter()
    train(out=tmp_path / "run", resume=True, max_steps=10, callbacks=[second], log=lambda m: None)
    assert second.steps == 10  # 6 restored from the checkpoint, then 4 more


def test_a_misspelt_hook_is_refused_not_skipped(names_file, tmp_path):
    class Misspelt(Callback):
        def on_evaluate(self, trainer, entry):
            pass

    with pytest.raises(TypeError, match="on_evaluate is not a training hook"):
        train(names_file, "mlp", out=tmp_path / "run", max_steps=2, callbacks=[Misspelt()], log=print)
    assert not (tmp_path / "run" / "state.safetensors").exists()


def test_a_callback_must_derive_from_the_base_class(names_file, tmp_path):
    class Loose:
        def on_eval(self, entry):
            pass

    with pytest.raises(TypeError, match="not a charloom.Callback"):
        train(names_file, "mlp", out=tmp_path / "run", max_steps=2, callbacks=[Loose()], log=print)
