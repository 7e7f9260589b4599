"""The HTTP API in-process (the stack's test client): every endpoint answers as the Python
API does, and every bad request is a 4xx with one line, never a 500."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402
from served_runs import train_served_runs  # noqa: E402

from charloom.serve.app import Served, create_app  # noqa: E402
from charloom.serve.requests import Limits  # noqa: E402
from charloom.transfer.group import train_group  # noqa: E402


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    train_served_runs(root)
    (root / "two.tsv").write_text("".join(f"a\twawa{i % 7}\nb\tbobo{i % 5}\n" for i in range(40)))
    train_group(root / "two.tsv", "ngram", out=root / "group", model_options={"n": 2}, log=lambda m: None)
    limits = Limits(max_body=4_096, max_n=50, max_new_tokens=300, max_budget=5_000, timeout=20)
    return Served([root / "names", root / "text", root / "group"], limits)


@pytest.fixture(scope="module")
def client(served):
    return TestClient(create_app(served), raise_server_exceptions=False)


def test_the_runs_and_groups_are_listed_with_what_a_client_needs(client):
    listed = client.get("/v1/runs").json()
    assert [r["name"] for r in listed["runs"]] == ["names", "text"]
    names = listed["runs"][0]
    assert names["family"] == "mlp" and names["format"] == "lines" and names["parameters"] > 0
    assert listed["groups"] == [{"name": "group", "categories": ["a", "b"]}]
    assert client.get("/healthz").json() == {"status": "ok", "runs": 2, "groups": 1}
    assert "/v1/runs/{name}/sample" in client.get("/openapi.json").json()["paths"]


def test_sample_gives_what_run_sample_gives_under_the_same_seed(client, served):
    body = {"n": 6, "seed": 3, "temperature": 0.8, "starts_with": "ma", "max_len": 8}
    got = client.post("/v1/runs/names/sample", json=body)
    assert got.status_code == 200, got.text
    result = got.json()
    expected = served.runs["names"].sample(6, seed=3, temperature=0.8, starts_with="ma", max_len=8)
    assert [item["text"] for item in result["items"]] == [s.text for s in expected]
    assert all(item["text"].startswith("ma") and len(item["text"]) <= 8 for item in result["items"])
    assert {item["seen"] for item in result["items"]} <= {"train", "held-out", "new"}
    assert result["tried"] >= result["returned"] == 6 and "returned 6 of 6" in result["summary"]


def test_a_request_past_one_piece_is_drawn_in_pieces_and_still_counted(client):
    result = client.post("/v1/runs/names/sample", json={"n": 40, "seed": 1, "unique": True}).json()
    texts = [item["text"] for item in result["items"]]
    assert len(texts) == 40 == result["returned"] and len(set(texts)) == 40


def test_score_next_and_stream_answer_as_the_python_api(client, served):
    run = served.runs["names"]
    scored = client.post("/v1/runs/names/score", json={"items": ["mara", "bob"]}).json()
    assert scored["nll_per_char"] == pytest.approx(run.score(["mara", "bob"]).nll_per_char)
    following = client.post("/v1/runs/names/next", json={"text": "ma", "k": 5}).json()["next"]
    assert [(c["char"], c["p"]) for c in following] == [
        (c, pytest.approx(p)) for c, p in run.next_chars("ma", top=5)
    ]
    with client.stream(
        "POST", "/v1/runs/text/stream", json={"prefix": "the ", "seed": 2, "max_new_tokens": 40}
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [block for block in r.read().decode().split("\n\n") if block]
    pieces = [json.loads(e.removeprefix("data: "))["text"] for e in events if e.startswith("data: ")]
    done = json.loads(events[-1].split("data: ", 1)[1])
    assert events[-1].startswith("event: done") and "".join(pieces) == done["text"]
    expected = served.runs["text"].sample(1, seed=2, prefix="the ", max_new_tokens=40)[0].text
    assert done["text"] == expected


def test_the_transfer_table_seeds_each_generator(client):
    rows = client.post("/v1/groups/group/transfer", json={"names": ["wawa3"], "cut": "2c"}).json()["rows"]
    assert rows[0]["start"] == "wa" and set(rows[0]["cells"]) >= {"a", "b"}
    assert all(cell[0]["text"].startswith("wa") for cell in rows[0]["cells"].values())


BAD = [
    ("/v1/runs/names/sample", b"{not json", 400, "not JSON"),
    ("/v1/runs/names/sample", b"[1, 2]", 422, "JSON object"),
    ("/v1/runs/names/sample", {"n": "three"}, 422, "'n'"),
    ("/v1/runs/names/sample", {"temprature": 1}, 422, "unknown field 'temprature'"),
    ("/v1/runs/names/sample", {"temperature": -1}, 400, "temperature"),
    ("/v1/runs/names/sample", {"top_p": 2.0}, 400, "top_p must be <= 1"),
    ("/v1/runs/names/sample", {"n": 0}, 400, "at least 1"),
    ("/v1/runs/names/sample", {"n": 51}, 400, "limit of 50 (--max-n)"),
    ("/v1/runs/names/sample", {"max_new_tokens": 301}, 400, "--max-new-tokens"),
    ("/v1/runs/names/sample", {"budget": 9_999}, 400, "--max-budget"),
    ("/v1/runs/names/sample", {"score": "ratio:/etc"}, 400, "not served"),
    ("/v1/runs/names/sample", {"prefix": "ma\u00e9"}, 400, "\u00e9"),
    ("/v1/runs/names/sample", {"regex": "("}, 400, "regex"),
    ("/v1/runs/nobody/sample", {}, 404, "no run 'nobody'"),
    ("/v1/runs/names/score", {"items": "mara"}, 422, "'items'"),
    ("/v1/runs/names/next", {"text": "ma", "k": 0}, 422, "'k'"),
    ("/v1/runs/text/stream", {}, 400, "prefix"),
    ("/v1/groups/nobody/transfer", {"names": ["a"]}, 404, "no group"),
    ("/v1/groups/group/transfer", {"names": ["a"], "cut": "lots"}, 400, "cut"),
    ("/v1/groups/group/transfer", {"names": ["wa"], "category": "zz"}, 400, "no category 'zz'"),
    ("/v1/runs/names/sample", {"prefix": "a" * 5_000}, 413, "--max-body"),
]


@pytest.mark.parametrize(("path", "body", "status", "message"), BAD)
def test_a_bad_request_is_a_4xx_with_one_line(client, path, body, status, message):
    if isinstance(body, bytes):
        answer = client.post(path, content=body, headers={"content-type": "application/json"})
    else:
        answer = client.post(path, json=body)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert message in error and "\n" not in error


def test_a_body_without_a_declared_length_is_still_capped(client):
    def chunks():
        yield b'{"prefix": "'
        for _ in range(10):
            yield b"a" * 1_000
        yield b'"}'

    answer = client.post(
        "/v1/runs/names/sample", content=chunks(), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413 and "--max-body" in answer.json()["error"]


def test_concurrent_requests_keep_their_own_random_state_and_constraints(client):
    bodies = [{"n": 5, "seed": seed, "starts_with": start} for seed in range(4) for start in ("ma", "ke")]
    alone = [client.post("/v1/runs/names/sample", json=b).json()["items"] for b in bodies]
    with ThreadPoolExecutor(8) as pool:
        together = list(
            pool.map(lambda b: client.post("/v1/runs/names/sample", json=b).json()["items"], bodies)
        )
    assert together == alone
    for body, items in zip(bodies, together, strict=True):
        assert all(item["text"].startswith(body["starts_with"]) for item in items)


def test_work_past_the_time_limit_is_given_up_with_one_line(served):
    hurried = Served([served.runs["names"].path], Limits(timeout=1e-9))
    answer = TestClient(create_app(hurried)).post("/v1/runs/names/sample", json={"n": 60, "seed": 0})
    assert answer.status_code == 503 and "--timeout" in answer.json()["error"]


def test_the_playground_is_one_page_with_nothing_fetched_from_elsewhere(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/v1/runs" in page.text and "http://" not in page.text and "https://" not in page.text
