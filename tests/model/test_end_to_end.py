"""The whole data path on the tiny PEGASUS: upload -> S3 event -> dispatcher -> endpoint (the REAL
handler) -> SNS notification -> recorder -> jobs table, curated dataset, and the client's output.

Everything AWS is moto, in process: S3 sends its events to the dispatch queue
(put_bucket_notification_configuration), the success and error topics deliver raw messages to the
recorder queue. The endpoint's part is played here: for each InvokeEndpointAsync the dispatcher
makes, the request body is read from S3 and run through ``model_code/inference.py``'s
``input_fn -> predict_fn -> output_fn``; the output goes to ``results/`` (or the error to
``failures/``) and the notification SageMaker documents is published to the topic.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("moto")

from endpoint_simulator import Pipeline, wired_pipeline
from moto import mock_aws

from constructs_lib.data_path.runtime import jobs
from summarizer.client.cli import run
from tests.datapath_support import (
    CREDENTIALS,
    mocked_world,
)

ARTICLES = {
    "fox.txt": "The quick brown fox jumps over the lazy dog. " * 3,
    "council.txt": "The council met on Tuesday to discuss the new bridge over the river. " * 2,
    "ocean.txt": "Scientists measured the temperature of the ocean at several depths. " * 2,
    "markets.txt": "Numbers like 12345 and 67890 appear in reports about markets and weather.",
}
# Valid for the dispatcher, refused by the handler: it must fail alone, with this reason.
BAD_ARTICLE = json.dumps(
    {"inputs": "A summary condenses a long article.", "parameters": {"num_beams": 99}}
)
BAD_REASON = "parameter 'num_beams' must be between 1 and 16, got 99"
# Not UTF-8: the dispatcher itself records it failed.
UNREADABLE = b"caf\xe9 society"


@pytest.fixture
def pipeline(
    monkeypatch: pytest.MonkeyPatch, handler: ModuleType, summarizer: Any
) -> Iterator[Pipeline]:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    with mock_aws(), mocked_world() as world, wired_pipeline(world, handler, summarizer) as wired:
        yield wired


def cli(pipeline: Pipeline, *argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(["--env", "test", *argv], factory=lambda args: pipeline.client(), out=out, err=err)
    return code, out.getvalue()


def test_uploaded_articles_end_as_summaries_and_recorded_failures(pipeline: Pipeline) -> None:
    client = pipeline.client()
    texts = {**ARTICLES, "bad.json": BAD_ARTICLE}
    submission = client.submit_texts(texts)
    client._put(f"inputs/{submission.submission_id}/unreadable.txt", UNREADABLE)
    by_name = {key.rsplit("/", 1)[1]: job for key, job in submission.documents.items()}

    pipeline.drain()

    # One grouped request first: the dispatcher did not send one article per invocation.
    first = pipeline.requests_served[0]
    _, first_key = jobs.parse_s3_uri(first["InputLocation"])
    assert len(pipeline.world.text(first_key).splitlines()) == len(texts)
    # The bad article failed only its own line: no group failure, nothing sent again.
    assert len(pipeline.requests_served) == 1
    assert pipeline.notifications[0]["invocationStatus"] == "Completed"
    records = {name: pipeline.world.job(job) for name, job in by_name.items()}
    for name in ARTICLES:
        assert records[name]["status"] == "succeeded", records[name]
        assert records[name]["input_tokens"] > 0
        # The tiny model reads 64 positions: the longer articles are chunked.
        assert records[name]["chunks"] >= 1 and records[name]["rounds"] >= 1
    assert records["bad.json"]["status"] == "failed"
    assert BAD_REASON in records["bad.json"]["failure_reason"]
    unreadable = client.jobs(submission.submission_id)
    (unreadable_job,) = [job for job in unreadable if job.source_key.endswith("unreadable.txt")]
    assert unreadable_job.failure_reason == (
        "document is not UTF-8 text: invalid byte 0xe9 at offset 3"
    )

    # The curated dataset: one row per summary, partitioned by the day the request finished.
    rows = []
    for key in pipeline.world.keys("curated/summaries/"):
        assert key.startswith("curated/summaries/dt=2026-12-01/")
        rows += [json.loads(line) for line in pipeline.world.text(key).splitlines()]
    assert sorted(row["source_key"].rsplit("/", 1)[1] for row in rows) == sorted(ARTICLES)
    assert {row["submission"] for row in rows} == {submission.submission_id}
    assert all(row["model_id"] == "google/pegasus-large" for row in rows)

    # What a person sees.
    code, out = cli(pipeline, "status", submission.submission_id)
    assert code == 1
    assert out.splitlines()[0] == (
        f"submission {submission.submission_id}: 4 succeeded, 2 failed, 0 waiting (of 6)"
    )
    fox = by_name["fox.txt"]
    code, out = cli(pipeline, "get", fox)
    (summary,) = [row["summary"] for row in rows if row["job_id"] == fox]
    assert (code, out) == (0, f"{summary}\n")
    code, out = cli(pipeline, "failures", submission.submission_id)
    assert code == 1
    assert {line.split("\t")[1] for line in out.splitlines()} == {"bad.json", "unreadable.txt"}


def test_a_bad_article_fails_only_its_own_line_of_a_grouped_request(pipeline: Pipeline) -> None:
    client = pipeline.client()
    submission = client.submit_texts({**ARTICLES, "bad.json": BAD_ARTICLE})

    pipeline.drain()

    # One request, no re-dispatch: the bad line failed alone inside it.
    assert len(pipeline.requests_served) == 1
    assert all(n["invocationStatus"] == "Completed" for n in pipeline.notifications)
    counts = client.counts(submission)
    assert (counts.succeeded, counts.failed) == (len(ARTICLES), 1)
    bad = pipeline.world.job(submission.documents[f"inputs/{submission.submission_id}/bad.json"])
    assert BAD_REASON in bad["failure_reason"]
    assert bad["failure_location"].endswith(f"#line={len(ARTICLES) + 1}")


def test_a_direct_invocation_is_recorded_as_its_own_job(pipeline: Pipeline) -> None:
    client = pipeline.client()
    direct = client.invoke_direct(
        json.dumps({"inputs": ARTICLES["fox.txt"], "parameters": {"max_length": 12}}),
        "application/json",
    )
    # The client's own InvokeEndpointAsync, which the endpoint serves like any other.
    pipeline.serve(
        {
            "InputLocation": direct.input_location,
            "ContentType": "application/json",
            "InferenceId": direct.inference_id,
        }
    )
    pipeline.drain()
    (job,) = client.jobs(direct.inference_id)
    assert job.status == "succeeded"
    assert job.record["source"] == direct.input_location
    code, out = cli(pipeline, "get", direct.inference_id)
    assert code == 0 and out.endswith("\n")
