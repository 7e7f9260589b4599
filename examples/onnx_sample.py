"""Generate with a charloom run exported to ONNX, with onnxruntime and NumPy only.

    charloom export runs/names --output names.onnx
    python examples/onnx_sample.py names.onnx -n 10 --temperature 0.8 --top-k 10 --prefix ma

The file holds everything needed besides the graph: under the metadata key ``charloom``
the vocabulary (id 0 is the boundary that starts and ends a name), the data format, the
names of the state's inputs and how to start each. A step feeds a batch of tokens and the
state, and gets the next logits and the state after them.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import onnxruntime as ort


class OnnxGenerator:
    def __init__(self, path: str):
        self.session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        self.meta = json.loads(self.session.get_modelmeta().custom_metadata_map["charloom"])
        vocab = self.meta["vocab"]
        self.chars = vocab["chars"]
        self.offset = 1 if vocab["boundary"] else 0
        self.ids = {c: i + self.offset for i, c in enumerate(self.chars)}
        self.lines = self.meta["data_format"] == "lines"

    def start(self, batch: int) -> dict[str, np.ndarray]:
        """The state before the first token, for ``batch`` rows."""
        state = {}
        for name, spec in self.meta["initial_state"].items():
            dtype = np.int64 if spec.get("dtype") == "int64" else np.float32
            values = np.array(spec["values"], dtype=dtype).reshape(spec["shape"])
            state[name] = np.ascontiguousarray(np.broadcast_to(values, (batch, *spec["shape"])))
        return state

    def step(self, tokens: np.ndarray, state: dict[str, np.ndarray]) -> tuple[np.ndarray, dict]:
        """tokens (B,) int64 and the state -> logits (B, V) and the state after the tokens."""
        logits, *after = self.session.run(None, {"token": tokens.astype(np.int64), **state})
        return logits, dict(zip(self.meta["inputs"][1:], after, strict=True))

    def generate(
        self,
        n: int = 10,
        prefix: str = "",
        temperature: float = 1.0,
        top_k: int | None = None,
        max_new_tokens: int | None = None,
        seed: int | None = None,
    ) -> list[str]:
        """``n`` items continuing ``prefix``; ``temperature`` 0 is greedy."""
        rng = np.random.default_rng(seed)
        unknown = [c for c in prefix if c not in self.ids]
        if unknown:
            raise SystemExit(f"the model never saw {unknown[0]!r}")
        feed = ([0] if self.lines else []) + [self.ids[c] for c in prefix]
        if not feed:
            raise SystemExit("a text model needs a --prefix to continue")
        longest = max_new_tokens or (100 if self.lines else 500)  # tokens after the prefix, the end included
        state = self.start(n)
        for token in feed:
            logits, state = self.step(np.full(n, token, dtype=np.int64), state)
        drawn: list[list[int]] = [[] for _ in range(n)]
        done = np.zeros(n, dtype=bool)
        for _ in range(longest):  # an item that has not ended by then is cut there
            tokens = pick(logits, temperature, top_k, rng)
            for row, token in enumerate(tokens):
                if done[row]:
                    continue
                if self.lines and token == 0:
                    done[row] = True
                else:
                    drawn[row].append(int(token))
            if done.all():
                break
            logits, state = self.step(tokens, state)
        return [prefix + "".join(self.chars[t - self.offset] for t in row) for row in drawn]


def pick(logits: np.ndarray, temperature: float, top_k: int | None, rng: np.random.Generator) -> np.ndarray:
    """One token per row: the most likely at temperature 0, else a draw from the softmax
    of logits / temperature over the top_k most likely."""
    if temperature == 0:
        return logits.argmax(axis=1)
    scaled = logits / temperature
    if top_k is not None and top_k < scaled.shape[1]:
        kth = np.sort(scaled, axis=1)[:, -top_k][:, None]
        scaled = np.where(scaled < kth, -np.inf, scaled)
    probs = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    return np.array([rng.choice(len(p), p=p) for p in probs], dtype=np.int64)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", help="a file written by `charloom export RUN --format onnx`")
    p.add_argument("-n", type=int, default=10)
    p.add_argument("--prefix", default="")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--top-k", type=int)
    p.add_argument("--max-new-tokens", type=int)
    p.add_argument("--seed", type=int)
    args = p.parse_args()
    generator = OnnxGenerator(args.model)
    for item in generator.generate(
        args.n, args.prefix, args.temperature, args.top_k, args.max_new_tokens, args.seed
    ):
        print(item)


if __name__ == "__main__":
    main()
