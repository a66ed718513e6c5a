"""Fixtures for the model handler tests: the handler module and a tiny PEGASUS built once.

These tests need the model venv (``requirements-model.txt``). Heavy imports happen inside the
fixtures and each test module starts with ``pytest.importorskip``, so a run from the CDK venv
reports these tests as skipped instead of failing to import torch.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL_CODE = REPO_ROOT / "model_code"
HANDLER_PATH = MODEL_CODE / "inference.py"
HANDLER_ENV = (
    "MAX_ARTICLES_PER_REQUEST",
    "SUMMARIZER_BATCH_SIZE",
    "SUMMARIZER_CHUNK_OVERLAP",
    "SUMMARIZER_MAX_ROUNDS",
    "SUMMARIZER_GPU_DTYPE",
    "SUMMARIZER_BATCH_MEMORY_MB",
    "SUMMARIZER_GPU_MEMORY_FRACTION",
    "SUMMARIZER_MAX_INPUT_TOKENS",
    "SUMMARIZER_MAX_REQUEST_BYTES",
    "HF_MODEL_ID",
    "HF_MODEL_REVISION",
    "HF_API_TOKEN",
)
# The toolkit puts code/ first on sys.path before importing inference.py, which imports the
# modules beside it; the tests do the same (and the model-server test proves the toolkit does).
if str(MODEL_CODE) not in sys.path:
    sys.path.insert(0, str(MODEL_CODE))

# The tiny model's encoder takes 64 positions; one goes to the end-of-sequence token.
TINY_MAX_POSITIONS = 64


def load_handler() -> ModuleType:
    """Import model_code/inference.py under the module name the toolkit gives it."""
    loaded = sys.modules.get("inference")
    if loaded is not None and Path(getattr(loaded, "__file__", "")) == HANDLER_PATH:
        return loaded
    spec = importlib.util.spec_from_file_location("inference", HANDLER_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["inference"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def handler() -> ModuleType:
    return load_handler()


@pytest.fixture(autouse=True)
def _clean_handler_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The handler reads its settings from the environment: start every test from defaults."""
    for name in HANDLER_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight PEGASUS (seed 0) with a trained SentencePiece vocabulary, built once."""
    from pegasus_factory import PegasusDims, build_pegasus

    out_dir = tmp_path_factory.mktemp("tiny-pegasus")
    return build_pegasus(out_dir, dims=PegasusDims(max_positions=TINY_MAX_POSITIONS), seed=0)


@pytest.fixture(scope="session")
def summarizer(handler: ModuleType, tiny_model_dir: Path) -> Iterator[Any]:
    """The tiny model loaded through ``model_fn`` with default settings, shared by all tests."""
    with pytest.MonkeyPatch.context() as patch:
        for name in HANDLER_ENV:
            patch.delenv(name, raising=False)
        loaded = handler.model_fn(str(tiny_model_dir))
    yield loaded


@pytest.fixture(scope="session")
def long_document(summarizer: Any) -> str:
    """An article at least ten times the tiny model's positional limit, with varied tokens."""
    from pegasus_factory import TINY_SENTENCES

    parts: list[str] = []
    index = 0
    target = 10 * TINY_MAX_POSITIONS
    while len(summarizer.tokenizer(" ".join(parts), add_special_tokens=False).input_ids) < target:
        sentence = TINY_SENTENCES[index % len(TINY_SENTENCES)]
        parts.append(f"{sentence} Paragraph {index} of the report.")
        index += 1
    return " ".join(parts)
