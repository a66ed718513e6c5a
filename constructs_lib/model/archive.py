"""Deterministic ``model.tar.gz`` for the Hugging Face inference toolkit.

CDK directory assets are zipped, but SageMaker wants a gzipped tar with ``code/inference.py`` at
``code/`` and weights (if any) at the root. Entries are sorted and carry fixed mtimes, owners and
modes, and gzip gets no timestamp or file name, so the same inputs always give the same bytes and
the asset hash changes only when the code does.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, BinaryIO

_EXCLUDED_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
_EXCLUDED_SUFFIXES = (".pyc", ".pyo")
_EXCLUDED_NAMES = frozenset({"README.md", ".DS_Store"})


def _files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part in _EXCLUDED_DIRS for part in rel.parts):
            continue
        if path.is_symlink():
            # A symlink in the archive breaks extraction in the container: refuse it loudly.
            raise ValueError(f"symlinks cannot go into a model archive: {path}")
        excluded = path.name in _EXCLUDED_NAMES or path.name.endswith(_EXCLUDED_SUFFIXES)
        if path.is_file() and not excluded:
            yield path


def _add(tar: tarfile.TarFile, path: Path, arcname: str) -> None:
    info = tarfile.TarInfo(arcname)
    info.size = path.stat().st_size
    info.mtime = 0
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    with path.open("rb") as handle:
        tar.addfile(info, handle)


def model_files(code_dir: Path, *, weights_dir: Path | None = None) -> list[tuple[Path, str]]:
    """Every file of the model's layout and its path under ``/opt/ml/model``: the weights at the
    root, ``code_dir`` as ``code/``, sorted, caches and READMEs left out.

    The same layout serves the ``model.tar.gz`` and uncompressed staging (each path an S3 key
    under a prefix), so the container finds the same files either way.
    """
    code_dir = Path(code_dir)
    if not (code_dir / "inference.py").is_file():
        raise ValueError(f"{code_dir} has no inference.py: the toolkit would ignore the code")
    found: list[tuple[Path, str]] = []
    if weights_dir is not None:
        for path in _files(Path(weights_dir)):
            relative = path.relative_to(weights_dir).as_posix()
            if relative == "code" or relative.startswith("code/"):
                # The handler's folder: a weights file there would be mixed with model_code.
                raise ValueError(
                    f"{weights_dir} has {relative}: code/ is the model code's place in the layout"
                )
            found.append((path, relative))
    found += [(path, "code/" + path.relative_to(code_dir).as_posix()) for path in _files(code_dir)]
    return found


def _write_archive(
    target: BinaryIO | _HashingWriter, code_dir: Path, weights_dir: Path | None
) -> None:
    files = model_files(code_dir, weights_dir=weights_dir)
    # Streamed, so a multi-GB checkpoint never sits in memory.
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=target, mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for path, name in files:
            _add(tar, path, name)


def stream_model_archive(
    target: BinaryIO, code_dir: Path, *, weights_dir: Path | None = None
) -> None:
    """Write a ``model.tar.gz`` to ``target`` (an open binary file), streaming the weights."""
    _write_archive(target, code_dir, weights_dir)


def build_model_archive(code_dir: Path, *, weights_dir: Path | None = None) -> bytes:
    """Return the bytes of a ``model.tar.gz``: ``weights_dir`` at the root, ``code_dir`` as code/.

    ``code_dir`` must contain ``inference.py``.
    """
    out = io.BytesIO()
    _write_archive(out, code_dir, weights_dir)
    return out.getvalue()


def write_model_archive(
    code_dir: Path, *, weights_dir: Path | None = None, directory: Path | None = None
) -> Path:
    """Write the archive (``weights_dir`` at the root, if given) under a content-addressed name
    and return its path.

    Rebuilding identical inputs reuses the same file, so repeated synths stay cheap. The archive
    is streamed to disk while it is hashed, so weights never sit in memory.
    """
    target_dir = directory or Path(tempfile.gettempdir()) / "model-archives"
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target_dir, suffix=".partial", delete=False) as handle:
        hashed = _HashingWriter(handle)
        try:
            _write_archive(hashed, code_dir, weights_dir)
        except BaseException:
            Path(handle.name).unlink(missing_ok=True)
            raise
    partial = Path(handle.name)
    target = target_dir / f"model-{hashed.digest.hexdigest()[:32]}.tar.gz"
    if target.exists():
        partial.unlink()
    else:
        partial.replace(target)
    return target


class _HashingWriter:
    """A write-only file that hashes what passes through it on its way to ``target``."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.target.write(data)

    def flush(self) -> None:
        self.target.flush()


def main() -> None:
    """``python -m constructs_lib.model.archive CODE_DIR OUT [--weights DIR]``: stage an archive.

    For teams that pre-stage the real checkpoint in S3 (``model_data_uri``) instead of pulling it
    from the Hub at every cold start.
    """
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("code_dir", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--weights", type=Path, default=None, help="save_pretrained() folder")
    args = parser.parse_args()
    with args.out.open("wb") as handle:
        _write_archive(handle, args.code_dir, args.weights)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
