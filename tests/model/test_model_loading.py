"""model_fn: where weights come from, device and precision, and the operator settings."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

torch = pytest.importorskip("torch")

import summarizer_loading as loading  # noqa: E402


def test_model_fn_loads_the_archive_for_inference(summarizer: Any) -> None:
    model = summarizer.model
    assert type(model).__name__ == "PegasusForConditionalGeneration"
    assert not model.training
    assert not any(parameter.requires_grad for parameter in model.parameters())
    assert next(model.parameters()).dtype == torch.float32
    assert summarizer.device.type == "cpu"
    assert summarizer.tokenizer.is_fast
    assert summarizer.unpadded_encoder  # CPU: the encoder skips padding
    # 64 positions, one taken by </s>; a tenth of the window overlaps; defaults otherwise.
    assert (summarizer.max_input_tokens, summarizer.window_tokens) == (64, 63)
    assert (summarizer.chunk_overlap, summarizer.batch_size, summarizer.max_rounds) == (6, 16, 8)


def test_local_weights_win_over_hf_model_id(
    handler: ModuleType, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Toolkit 2.6.0 downloads HF_MODEL_ID into the model dir itself: no second download.
    monkeypatch.setenv("HF_MODEL_ID", "google/pegasus-xsum")
    assert loading.model_source(str(tiny_model_dir)) == (str(tiny_model_dir), {})


def test_hub_id_with_revision_and_token(
    handler: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_MODEL_ID", "google/pegasus-xsum")
    monkeypatch.setenv("HF_MODEL_REVISION", "8d8ffc1")
    monkeypatch.setenv("HF_API_TOKEN", "hf_example")
    assert loading.model_source(str(tmp_path)) == (
        "google/pegasus-xsum",
        {"revision": "8d8ffc1", "token": "hf_example"},
    )


def test_model_fn_loads_from_the_hub_id(
    handler: ModuleType, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without weights in model_dir, both tokenizer and model come from HF_MODEL_ID@revision."""
    calls: list[tuple[str, str, dict[str, Any]]] = []

    def redirect(kind: str, original: Any) -> Any:
        def from_pretrained(source: str, **options: Any) -> Any:
            calls.append((kind, source, dict(options)))
            local = {key: value for key, value in options.items() if key != "revision"}
            return original(str(tiny_model_dir), **local)

        return from_pretrained

    monkeypatch.setattr(
        loading.AutoTokenizer,
        "from_pretrained",
        redirect("tokenizer", loading.AutoTokenizer.from_pretrained),
    )
    monkeypatch.setattr(
        loading.AutoModelForSeq2SeqLM,
        "from_pretrained",
        redirect("model", loading.AutoModelForSeq2SeqLM.from_pretrained),
    )
    monkeypatch.setenv("HF_MODEL_ID", "google/pegasus-xsum")
    monkeypatch.setenv("HF_MODEL_REVISION", "main")

    loaded = handler.model_fn(str(tmp_path))

    assert calls == [
        ("tokenizer", "google/pegasus-xsum", {"revision": "main"}),
        ("model", "google/pegasus-xsum", {"revision": "main", "torch_dtype": torch.float32}),
    ]
    assert loaded.window_tokens == 63


def test_no_weights_and_no_hub_id(handler: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(ValueError) as caught:
        handler.model_fn(str(tmp_path))
    assert str(caught.value) == (
        f"no model to load: {tmp_path} has no config.json and HF_MODEL_ID is not set"
    )


def test_settings_from_the_environment(
    handler: ModuleType, summarizer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUMMARIZER_BATCH_SIZE", "4")
    monkeypatch.setenv("SUMMARIZER_CHUNK_OVERLAP", "0")
    monkeypatch.setenv("SUMMARIZER_MAX_ROUNDS", "3")
    built = loading.build_summarizer(summarizer.model, summarizer.tokenizer)
    assert (built.batch_size, built.chunk_overlap, built.max_rounds) == (4, 0, 3)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "SUMMARIZER_BATCH_SIZE",
            "0",
            "environment variable SUMMARIZER_BATCH_SIZE must be an integer between 1 and 256, "
            "got '0'",
        ),
        (
            "SUMMARIZER_BATCH_SIZE",
            "sixteen",
            "environment variable SUMMARIZER_BATCH_SIZE must be an integer between 1 and 256, "
            "got 'sixteen'",
        ),
        (
            "SUMMARIZER_CHUNK_OVERLAP",
            "32",
            "environment variable SUMMARIZER_CHUNK_OVERLAP must be an integer between 0 and 31, "
            "got '32'",
        ),
        (
            "SUMMARIZER_MAX_ROUNDS",
            "1",
            "environment variable SUMMARIZER_MAX_ROUNDS must be an integer between 2 and 32, "
            "got '1'",
        ),
    ],
)
def test_invalid_settings(
    handler: ModuleType,
    summarizer: Any,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str,
    message: str,
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError) as caught:
        loading.build_summarizer(summarizer.model, summarizer.tokenizer)
    assert str(caught.value) == message


def test_tokenizer_limit_below_the_positional_table_wins(
    handler: ModuleType, summarizer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(summarizer.tokenizer, "model_max_length", 32)
    built = loading.build_summarizer(summarizer.model, summarizer.tokenizer)
    assert (built.max_input_tokens, built.window_tokens, built.chunk_overlap) == (32, 31, 3)


class FakeContext:
    """What the model server passes as ``context``: only system_properties matter here."""

    def __init__(self, gpu_id: int) -> None:
        self.system_properties = {"gpu_id": gpu_id}


def test_device_follows_the_servers_gpu_id(
    handler: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert loading.select_device(FakeContext(1)) == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert loading.select_device(FakeContext(1)) == torch.device("cuda:1")
    assert loading.select_device(None) == torch.device("cuda:0")


@pytest.mark.parametrize(
    ("capability", "override", "expected"),
    [
        ((8, 6), None, torch.bfloat16),  # A10G (g5): native bf16
        ((8, 0), None, torch.bfloat16),  # A100 (p4d): the first with native bf16
        ((9, 0), "auto", torch.bfloat16),  # H100 (p5)
        ((7, 5), None, torch.float16),  # T4 (g4dn): bf16 only emulated
        ((7, 0), None, torch.float16),  # V100 (p3)
        ((7, 5), "float32", torch.float32),
        ((8, 6), "float16", torch.float16),
        ((7, 5), "BFloat16", torch.bfloat16),
    ],
)
def test_gpu_precision_follows_the_compute_capability(
    monkeypatch: pytest.MonkeyPatch,
    capability: tuple[int, int],
    override: str | None,
    expected: Any,
) -> None:
    # Since torch 2.4 is_bf16_supported() says True on a T4 (emulation counts): never ask it.
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *_, **__: True)
    asked: list[Any] = []

    def get_device_capability(device: Any = None) -> tuple[int, int]:
        asked.append(device)
        return capability

    monkeypatch.setattr(torch.cuda, "get_device_capability", get_device_capability)
    if override is not None:
        monkeypatch.setenv("SUMMARIZER_GPU_DTYPE", override)
    assert loading.select_dtype(torch.device("cuda:1")) == expected
    assert loading.select_dtype(torch.device("cpu")) == torch.float32
    # The capability of the worker's own GPU decides (unless the operator chose).
    assert asked == ([] if override not in (None, "auto") else [torch.device("cuda:1")])


def test_invalid_gpu_precision(handler: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUMMARIZER_GPU_DTYPE", "int8")
    with pytest.raises(ValueError) as caught:
        loading.select_dtype(torch.device("cuda:0"))
    assert str(caught.value) == (
        "environment variable SUMMARIZER_GPU_DTYPE must be one of auto, bfloat16, float16, "
        "float32, got 'int8'"
    )
