"""Where the rehearsal's pieces live, and the local stand-ins for Lambda's runtimes.

Everything the rehearsal builds goes under ``build/rehearsal/`` (git-ignored): the runtime SDK the
Python execution environments import, the Powertools layer's content, the tiny PEGASUS the
endpoint stand-in serves, and one folder per run. ``prepare()`` builds what is missing; each piece
is keyed by the hash of what it is built from, so a changed pin rebuilds it.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "build" / "rehearsal"
LAMBDAS = Path(__file__).resolve().parent / "lambdas"
RUNTIME_REQUIREMENTS = LAMBDAS / "requirements-runtime.txt"
LAYER_REQUIREMENTS = LAMBDAS / "requirements-powertools-layer.txt"
NODE_SDK = LAMBDAS / "node"
MODEL_VENV_PYTHON = REPO / ".venv-model" / "bin" / "python"
CLIENT_PYTHON = REPO / ".venv" / "bin" / "python"
CDK = REPO / "node_modules" / ".bin" / "cdk"
UV = REPO / ".tools" / "uv" / "bin" / "uv"


def _digest(*paths: Path) -> str:
    hasher = hashlib.sha256()
    for path in paths:
        hasher.update(path.read_bytes())
    return hasher.hexdigest()[:16]


def _run(command: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    """Run a build step quietly; its output only when it fails."""
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command[:4])} ... failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )


def _pip_target(requirements: Path, target: Path) -> Path:
    """Install pinned pure-Python requirements into ``target`` (once per requirements hash)."""
    stamp = target / ".installed"
    digest = _digest(requirements)
    if stamp.exists() and stamp.read_text() == digest:
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    # The Makefile's pinned uv installs them (the virtualenvs it makes have no pip); pip where
    # the rehearsal runs outside make without it.
    installer = (
        [str(UV), "pip", "install", "--python", sys.executable]
        if UV.exists()
        else [sys.executable, "-m", "pip", "install", "--disable-pip-version-check"]
    )
    _run(
        [
            *installer,
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--target",
            str(target),
            "-r",
            str(requirements),
        ],
    )
    stamp.write_text(digest)
    return target


def runtime_sdk() -> Path:
    """The SDK Lambda's Python runtimes provide (boto3 and its dependencies)."""
    return _pip_target(RUNTIME_REQUIREMENTS, BUILD / "runtime-sdk")


def powertools_version() -> str:
    """The Powertools version the layer's requirements pin."""
    match = re.search(r"^aws-lambda-powertools==(\S+)$", LAYER_REQUIREMENTS.read_text(), re.M)
    if not match:
        raise RuntimeError(f"{LAYER_REQUIREMENTS} must pin aws-lambda-powertools==<version>")
    return match.group(1)


def powertools_layer() -> Path:
    """The folder whose ``python/`` is the Powertools layer's content."""
    root = BUILD / "powertools-layer"
    _pip_target(LAYER_REQUIREMENTS, root / "python")
    return root


def node_sdk() -> Path:
    """``node_modules`` holding the SDK Lambda's Node.js runtimes provide."""
    modules = NODE_SDK / "node_modules"
    stamp = modules / ".installed"
    digest = _digest(NODE_SDK / "package.json", NODE_SDK / "package-lock.json")
    if not (stamp.exists() and stamp.read_text() == digest):
        _run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_SDK)
        stamp.write_text(digest)
    return modules


def tiny_model() -> Path:
    """The tiny random PEGASUS the endpoint stand-in serves (built with the tests' factory)."""
    factory = REPO / "tests" / "model" / "pegasus_factory.py"
    target = BUILD / "tiny-pegasus"
    stamp = target / ".built"
    digest = _digest(factory)
    if stamp.exists() and stamp.read_text() == digest:
        return target
    shutil.rmtree(target, ignore_errors=True)
    _run(
        [
            str(MODEL_VENV_PYTHON),
            "-c",
            "import sys; from pathlib import Path; "
            "from tests.model.pegasus_factory import build_pegasus; "
            "build_pegasus(Path(sys.argv[1]))",
            str(target),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    stamp.write_text(digest)
    return target


def prepare(*, model: bool) -> None:
    """Build everything a run needs (``model``: also the tiny PEGASUS)."""
    runtime_sdk()
    powertools_layer()
    node_sdk()
    if model:
        tiny_model()


@dataclass(frozen=True)
class Interpreter:
    """The program that stands in for one Lambda runtime, and how faithful it is."""

    runtime: str
    command: tuple[str, ...]
    version: str
    exact: bool

    @property
    def note(self) -> str:
        if self.exact:
            return f"{self.runtime}: {self.version}"
        return f"{self.runtime}: not found here, ran on {self.version} instead"


def _python_version(executable: str) -> str | None:
    try:
        answer = subprocess.run(
            [executable, "-S", "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return None
    return answer.stdout.strip() if answer.returncode == 0 else None


@functools.cache
def interpreter(runtime: str) -> Interpreter:
    """The local program for a Lambda runtime such as ``python3.12`` or ``nodejs24.x``.

    Python: ``pythonX.Y`` on PATH, else a pyenv installation of X.Y, else this Python (with a
    note saying so). Node.js: ``node`` on PATH, whatever its major version (noted when it
    differs).
    """
    python = re.fullmatch(r"python(\d+)\.(\d+)", runtime)
    if python:
        wanted = f"{python.group(1)}.{python.group(2)}"
        candidates = [shutil.which(runtime) or ""]
        pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
        candidates += sorted(glob.glob(f"{pyenv_root}/versions/{wanted}.*/bin/{runtime}"))
        for candidate in candidates:
            version = _python_version(candidate) if candidate else None
            if version and version.startswith(f"{wanted}."):
                return Interpreter(runtime, (candidate,), f"Python {version}", exact=True)
        version = "{}.{}.{}".format(*sys.version_info[:3])
        return Interpreter(runtime, (sys.executable,), f"Python {version}", exact=False)
    node = re.fullmatch(r"nodejs(\d+)\.x", runtime)
    if node:
        executable = shutil.which("node")
        if executable is None:
            raise RuntimeError(f"runtime {runtime}: no node on PATH")
        version = subprocess.run(
            [executable, "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
        exact = version.lstrip("v").split(".")[0] == node.group(1)
        return Interpreter(runtime, (executable,), f"Node.js {version}", exact=exact)
    raise RuntimeError(f"runtime {runtime!r} has no local stand-in (python3.x and nodejsN.x do)")


def describe_interpreters(runtimes: list[str]) -> list[str]:
    """One line per runtime used, for the report."""
    return [interpreter(runtime).note for runtime in sorted(set(runtimes))]


def load_json(path: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(path.read_text())
    return loaded
