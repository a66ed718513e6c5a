"""One deployment for the rehearsal's slow tests: the dev stack in the emulator, with the fast
model stand-in and a 4-second batching window (so that a round trip takes seconds, not the
default 20-second window per batch, and its eleven documents still arrive within one window on a
busy machine). moto's backends are process-wide: one emulator per run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rehearsal.run import Options, Rehearsal

TEST_CONTEXT = (
    "summarizer.data_path.batching_window_seconds=4",
    "summarizer.data_path.max_documents_per_request=8",
)


@pytest.fixture(scope="session")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsal]:
    options = Options(
        environment="dev",
        documents=10,
        host="fast",
        workdir=tmp_path_factory.mktemp("rehearsal"),
        context=TEST_CONTEXT,
        submit_timeout_s=60,
    )
    lines: list[str] = []
    deployed = Rehearsal(options, log=lines.append)
    try:
        deployed.deploy()
        yield deployed
    finally:
        deployed.close()
