"""What a client may send, as the Python API names it, and the server's limits on it.

The body of ``sample`` and ``stream`` is built from the options as they are declared (the
registered processors' controls and ``SampleOptions``' fields), so a new decoding control
or constraint is served with no change here. Only what JSON cannot carry is narrowed: a file
of excluded items becomes a list, and ``score`` a spec string that names no other run (a
server loads the runs it was started with and nothing a client names).
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from charloom.errors import CharloomError
from charloom.generate.pipeline import declaring_classes
from charloom.options import option_fields

STRICT = ConfigDict(extra="forbid", strict=True)
LONGEST_TEXT = 10_000  # characters of a prefix, a name to continue or a scored item
LONGEST_REGEX = 200  # a pattern runs on every candidate; a long one can backtrack for minutes
JSON_TYPES = {  # the fields whose Python type is wider than what JSON can carry
    "contains": str | list[str],
    "exclude": list[str],
    "bad_words": list[str],
    "score": str | None,
}


class OverLimit(CharloomError):
    """A request past a limit of this server: named by the flag `charloom serve` was
    started with, the one setting a client cannot change."""

    def spelled(self, flags: bool) -> str:
        return Exception.__str__(self)


@dataclass(frozen=True)
class Limits:
    """Bounds on one request, each a flag of ``charloom serve``."""

    max_body: int = 65_536  # bytes
    max_n: int = 200
    max_new_tokens: int = 2_000
    max_budget: int = 20_000
    timeout: float = 30.0  # seconds of model work

    def check(self, n: int, options: dict[str, Any]) -> None:
        """One line naming the limit when a request asks for more than this server gives."""
        asked = {"n": n, "max_new_tokens": options.get("max_new_tokens"), "budget": options.get("budget")}
        bounds = {"n": self.max_n, "max_new_tokens": self.max_new_tokens, "budget": self.max_budget}
        flags = {"n": "--max-n", "max_new_tokens": "--max-new-tokens", "budget": "--max-budget"}
        for name, value in asked.items():
            if value is not None and value > bounds[name]:
                raise OverLimit(
                    f"{name} {value} is over this server's limit of {bounds[name]} ({flags[name]})"
                )
        regex = options.get("regex")
        if regex is not None and len(regex) > LONGEST_REGEX:
            raise CharloomError(f"regex is longer than this server's limit of {LONGEST_REGEX} characters")
        score = options.get("score")
        if score is not None and "ratio" in score:
            raise CharloomError("score: ratio:RUN is not served (the server loads no run a client names)")


def _sample_fields() -> dict[str, Any]:
    fields = {}
    for declaring in declaring_classes():
        hints = typing.get_type_hints(declaring)
        for f in option_fields(declaring):
            kind = JSON_TYPES.get(f.name, hints[f.name])
            default = list(f.default) if isinstance(f.default, tuple) else f.default
            fields[f.name] = (kind, Field(default, description=f.metadata["help"]))
    return fields


_COMMON = {
    "n": (int, Field(10, description="how many items")),
    "seed": (int | None, Field(None, description="same seed, same items (none: a fresh one)")),
    "category": (str | None, Field(None, description="the category of a conditional run")),
}


def request_models() -> tuple[type[BaseModel], type[BaseModel]]:
    """The bodies of ``sample`` and ``stream``, from the options declared when asked (a
    processor registered before the app is made is served)."""
    fields = _sample_fields()
    sample = create_model("SampleRequest", __config__=STRICT, **_COMMON, **fields)
    stream_common = {k: v for k, v in _COMMON.items() if k != "n"}
    return sample, create_model("StreamRequest", __config__=STRICT, **stream_common, **fields)


def sample_options(request: BaseModel) -> tuple[int, int | None, str | None, dict[str, Any]]:
    """``n``, ``seed``, ``category`` and the rest as ``Run.sample``'s keyword options (only
    those the client gave, so the run's own defaults apply to the others)."""
    given = request.model_dump(exclude_unset=True)
    n = given.pop("n", 10)
    seed, category = given.pop("seed", None), given.pop("category", None)
    for name in ("exclude", "bad_words"):
        if name in given:
            given[name] = tuple(given[name])
    return n, seed, category, given


class ScoreRequest(BaseModel):
    model_config = STRICT
    items: list[str] = Field(description="items (lines) or texts to score", max_length=1_000)


class NextRequest(BaseModel):
    model_config = STRICT
    text: str = Field("", description="the text so far", max_length=LONGEST_TEXT)
    k: int = Field(10, ge=1, le=100, description="how many next characters, the most likely first")
    temperature: float = Field(1.0, gt=0, description="softmax temperature")
    category: str | None = None


class TransferRequest(BaseModel):
    model_config = STRICT
    names: list[str] = Field(
        min_length=1, max_length=20, description="names whose start every generator continues"
    )
    cut: str = Field("0.5", description="fractions (0.25), characters (2c) or first-word, comma-separated")
    samples: int = Field(1, ge=1, le=10, description="completions per cell")
    best_of: int | None = Field(None, ge=1, le=32, description="each completion the best of N by the judge")
    temperature: float = Field(1.0, ge=0)
    contrast: float = Field(0.0, ge=0, description="decode against the pooled generator by this much")
    category: str | None = Field(None, description="only this generator")
    seed: int = 0
