"""CONTRIBUTING.md's recipe for a logits processor, followed from one file: this one. One
class declares its control; the Python API, the command line, its help and the server
take it with nothing else written."""

from dataclasses import dataclass

import pytest
import torch

import charloom
from charloom.cli import main
from charloom.data.vocab import BOUNDARY_ID
from charloom.generate.processors import PROCESSORS, LogitsProcessor, register_processor
from charloom.options import option


@dataclass
class EndPenalty(LogitsProcessor):
    """Items run longer: the end of an item made less likely by a fixed amount of logit.
    Running text has no end to penalise."""

    end_penalty: float = option(
        0.0, help="subtract this from the logit of ending the item (0: off)", minimum=0
    )
    lines: bool = True

    def __call__(self, t, logits):
        if not self.lines:
            return logits
        return logits - self.end_penalty * (
            torch.arange(logits.shape[1], device=logits.device) == BOUNDARY_ID
        )


@pytest.fixture
def registered():
    before = list(PROCESSORS)
    yield register_processor(EndPenalty)
    PROCESSORS[:] = before


def mean_length(texts):
    texts = list(texts)
    return sum(map(len, texts)) / len(texts)


def test_a_registered_processor_is_a_keyword_of_sample(registered, mlp_run):
    assert PROCESSORS[-1] is registered is EndPenalty
    plain = mlp_run.sample(n=40, seed=0)
    longer = mlp_run.sample(n=40, seed=0, end_penalty=3.0)
    assert mean_length(s.text for s in longer) > mean_length(s.text for s in plain) + 2
    assert [s.text for s in mlp_run.sample(n=40, seed=0, end_penalty=0.0)] == [s.text for s in plain]
    with pytest.raises(charloom.CharloomError, match="^end_penalty must be >= 0"):
        mlp_run.sample(n=2, end_penalty=-1.0)


@pytest.mark.usefixtures("registered")
def test_the_command_line_and_its_help_take_the_control(mlp_run, capsys):
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    assert "subtract this from the logit of ending the item" in capsys.readouterr().out
    plain = mean_length(s.text for s in mlp_run.sample(n=20, seed=1))
    assert (
        main(["sample", str(mlp_run.path), "-n", "20", "--seed", "1", "--end-penalty", "3", "--quiet"]) == 0
    )
    items = [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()]
    assert len(items) == 20 and mean_length(items) > plain + 2
    assert main(["sample", str(mlp_run.path), "--end-penalty", "-1"]) == 2
    assert "charloom: error: --end-penalty must be >= 0" in capsys.readouterr().err


@pytest.mark.usefixtures("registered")
def test_the_server_takes_the_control(mlp_run):
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from fastapi.testclient import TestClient

    from charloom.serve.app import Served, create_app

    client = TestClient(create_app(Served([mlp_run.path])))
    url = f"/v1/runs/{mlp_run.path.name}/sample"
    answer = client.post(url, json={"n": 20, "seed": 2, "end_penalty": 3.0})
    assert answer.status_code == 200, answer.text
    plain = mean_length(s.text for s in mlp_run.sample(n=20, seed=2))
    assert mean_length(item["text"] for item in answer.json()["items"]) > plain + 2
    refused = client.post(url, json={"n": 2, "end_penalty": -1.0})
    assert refused.status_code == 400
    assert refused.json()["error"].startswith("end_penalty must be >= 0")


@pytest.mark.usefixtures("registered")
def test_a_control_taken_by_another_processor_is_refused():
    @dataclass
    class Clash(LogitsProcessor):
        end_penalty: float = option(0.0, help="the same name again")

    with pytest.raises(TypeError, match="'end_penalty' is another's"):
        register_processor(Clash)
