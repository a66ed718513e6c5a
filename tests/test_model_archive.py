"""The model archive: the layout the Hugging Face toolkit expects, byte-identical across builds."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from constructs_lib.model.archive import build_model_archive, write_model_archive

ROOT = Path(__file__).resolve().parent.parent
MODEL_CODE = ROOT / "model_code"


def members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return tar.getmembers()


def test_archive_holds_the_model_code_under_code() -> None:
    names = [m.name for m in members(build_model_archive(MODEL_CODE))]
    assert "code/inference.py" in names
    assert all(name.startswith("code/") for name in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


def test_archive_entries_are_sorted_regular_files_with_fixed_metadata() -> None:
    entries = members(build_model_archive(MODEL_CODE))
    assert [e.name for e in entries] == sorted(e.name for e in entries)
    for entry in entries:
        assert entry.isfile()
        assert (entry.mtime, entry.uid, entry.gid, entry.mode) == (0, 0, 0, 0o644)
        assert (entry.uname, entry.gname) == ("root", "root")


def test_two_builds_give_identical_bytes_and_one_file(tmp_path: Path) -> None:
    first, second = build_model_archive(MODEL_CODE), build_model_archive(MODEL_CODE)
    assert first == second
    # gzip header: no timestamp (bytes 4-7) and no file name flag (bit 3 of byte 3).
    assert first[4:8] == b"\0\0\0\0"
    assert first[3] & 0x08 == 0
    path_a = write_model_archive(MODEL_CODE, directory=tmp_path)
    path_b = write_model_archive(MODEL_CODE, directory=tmp_path)
    assert path_a == path_b
    assert path_a.read_bytes() == first
    assert path_a.name.endswith(".tar.gz")


def test_archive_changes_when_the_code_changes(tmp_path: Path) -> None:
    (tmp_path / "inference.py").write_text("A = 1\n")
    before = build_model_archive(tmp_path)
    (tmp_path / "inference.py").write_text("A = 2\n")
    assert build_model_archive(tmp_path) != before


def test_weights_go_to_the_archive_root(tmp_path: Path) -> None:
    code, weights = tmp_path / "code", tmp_path / "weights"
    code.mkdir()
    weights.mkdir()
    (code / "inference.py").write_text("")
    (weights / "config.json").write_text("{}")
    (weights / "model.safetensors").write_bytes(b"\0" * 16)
    names = [m.name for m in members(build_model_archive(code, weights_dir=weights))]
    assert names == ["config.json", "model.safetensors", "code/inference.py"]


def test_code_without_inference_py_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as error:
        build_model_archive(tmp_path)
    assert str(error.value) == f"{tmp_path} has no inference.py: the toolkit would ignore the code"


def test_symlinks_are_refused(tmp_path: Path) -> None:
    (tmp_path / "inference.py").write_text("")
    (tmp_path / "link.py").symlink_to(tmp_path / "inference.py")
    with pytest.raises(ValueError) as error:
        build_model_archive(tmp_path)
    assert str(error.value) == f"symlinks cannot go into a model archive: {tmp_path / 'link.py'}"


def test_archive_is_plain_gzip_of_a_tar() -> None:
    raw = gzip.decompress(build_model_archive(MODEL_CODE))
    assert raw[257:262] == b"ustar"
