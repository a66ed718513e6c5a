"""The round trip: the pipeline's smoke test, then ``summarizer submit --wait`` on a folder.

Both run the project's own code as a user runs it (``.venv/bin/python -m ...``) against the
deployed stack's outputs. What they leave behind is then checked in the emulator: every job
terminal, the bad document failed with the handler's reason, a result in ``results/`` for each
summary and a row in the curated dataset, and the dispatcher's requests grouping documents.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rehearsal import cdk
from rehearsal.cdk import StepFailed

# The handler refuses this line alone (its num_beams is out of 1-16): the one bad document.
BAD_DOCUMENT = {"inputs": "A summary condenses a long article.", "parameters": {"num_beams": 99}}
BAD_REASON = "parameter 'num_beams' must be between 1 and 16, got 99"
SENTENCES = (
    "The council met on Tuesday to discuss the new bridge over the river.",
    "Scientists measured the temperature of the ocean at several depths.",
    "Asynchronous endpoints queue requests and scale down to zero instances.",
    "Numbers like 12345 and 67890 appear in reports about markets and weather.",
    "A summary condenses a long article into a few sentences.",
    "The quick brown fox jumps over the lazy dog.",
)


def write_documents(folder: Path, count: int, *, seed: int = 19) -> dict[str, str]:
    """``count`` articles and one bad document; file name -> kind ("good" or "bad")."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    kinds = {}
    for index in range(count):
        name = f"article-{index:05d}.txt"
        text = " ".join(rng.choice(SENTENCES) for _ in range(rng.randint(2, 8)))
        (folder / name).write_text(text + "\n", encoding="utf-8")
        kinds[name] = "good"
    (folder / "bad.json").write_text(json.dumps(BAD_DOCUMENT), encoding="utf-8")
    kinds["bad.json"] = "bad"
    return kinds


@dataclass
class RoundTrip:
    stack: str
    submission: str = ""
    documents: int = 0
    succeeded: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    request_sizes: list[int] = field(default_factory=list)
    curated_rows: int = 0
    smoke_seconds: float = 0.0
    submit_seconds: float = 0.0


def outputs_of(api: Any, stack: str) -> dict[str, str]:
    (described,) = api.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def _items(api: Any, table: str) -> list[dict[str, Any]]:
    dynamodb = api.client("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = dynamodb.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _keys(api: Any, bucket: str, prefix: str) -> list[str]:
    s3 = api.client("s3")
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return keys


def _read(api: Any, bucket: str, key: str) -> bytes:
    body: bytes = api.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def smoke(env_name: str, *, log: Path, env: Mapping[str, str]) -> float:
    done = cdk.client(
        "summarizer.client.smoke",
        "--env",
        env_name,
        "--timeout-minutes",
        "5",
        log=log,
        env=env,
        timeout=360,
        what=f"the smoke test of {env_name} (make smoke's code)",
    )
    if "smoke test passed" not in done.output:
        raise StepFailed(f"the smoke test did not report success; see {log}")
    return done.seconds


def submit(
    api: Any, env_name: str, stack: str, folder: Path, *, log: Path, env: Mapping[str, str],
    expected: Mapping[str, str], timeout_s: int, grouped: bool = True,
) -> RoundTrip:  # fmt: skip
    """``summarizer submit --wait`` on ``folder``, then everything it should have left.

    ``grouped``: also require that every request of the submission grouped several documents
    (a handful of documents may straddle a short batching window: the tests' small submissions
    check only that the stack works)."""
    trip = RoundTrip(stack=stack, documents=len(expected))
    done = cdk.client(
        "summarizer.client.cli",
        "--env",
        env_name,
        "submit",
        str(folder),
        "--wait",
        "--no-progress",
        "--poll",
        "2",
        "--timeout",
        str(timeout_s),
        log=log,
        env=env,
        timeout=timeout_s + 120,
        check=False,
        what="summarizer submit --wait",
    )
    trip.submit_seconds = done.seconds
    bad = sum(kind == "bad" for kind in expected.values())
    wanted = 1 if bad else 0
    if done.returncode != wanted:
        raise StepFailed(
            f"summarizer submit --wait exited {done.returncode}, expected {wanted} (every job "
            f"done, {bad} failed); see {log}:\n{cdk._tail(done.output)}"
        )
    submission = next(
        (line.strip() for line in done.output.splitlines() if _looks_like_submission(line)), ""
    )
    if not submission:
        raise StepFailed(f"summarizer submit printed no submission id; see {log}")
    trip.submission = submission
    check(api, trip, expected, grouped=grouped)
    failures = cdk.client(
        "summarizer.client.cli",
        "--env",
        env_name,
        "failures",
        submission,
        log=log,
        env=env,
        timeout=120,
        check=False,
        what="summarizer failures",
    )
    if bad and BAD_REASON not in failures.output:
        raise StepFailed(f"summarizer failures does not show the bad document's reason; see {log}")
    return trip


def _looks_like_submission(line: str) -> bool:
    import re

    return re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", line.strip()) is not None


def check(api: Any, trip: RoundTrip, expected: Mapping[str, str], *, grouped: bool = True) -> None:
    """Jobs, results, curated rows and requests of ``trip.submission``, as they should be."""
    outputs = outputs_of(api, trip.stack)
    bucket, table = outputs["DataBucketName"], outputs["JobsTableName"]
    jobs = [
        item
        for item in _items(api, table)
        if item.get("submission", {}).get("S") == trip.submission
    ]
    by_name = {item["source_key"]["S"].rsplit("/", 1)[1]: item for item in jobs}
    problems = []
    missing = sorted(set(expected) - set(by_name))
    if missing:
        problems.append(f"no job record for {len(missing)} document(s), e.g. {missing[:3]}")
    statuses = Counter(item["status"]["S"] for item in jobs)
    if set(statuses) - {"succeeded", "failed"}:
        problems.append(f"jobs not terminal: {dict(statuses)}")
    for name, kind in expected.items():
        item = by_name.get(name)
        if item is None:
            continue
        status = item["status"]["S"]
        if kind == "good" and status != "succeeded":
            reason = item.get("failure_reason", {}).get("S")
            problems.append(f"{name} is {status}, expected succeeded ({reason})")
        if kind == "bad":
            reason = item.get("failure_reason", {}).get("S", "")
            if status != "failed" or BAD_REASON not in reason:
                problems.append(f"{name} is {status} ({reason!r}), expected failed: {BAD_REASON}")
            trip.failed[name] = reason
    trip.succeeded = statuses.get("succeeded", 0)
    # Each summary is in results/ (the line of its job in its request's output) ...
    outputs_seen: dict[str, list[str]] = {}
    for item in jobs:
        if item["status"]["S"] != "succeeded":
            continue
        location = item.get("output_location", {}).get("S", "")
        line = int(item.get("output_line", {}).get("N", "0"))
        if not location.startswith(f"s3://{bucket}/results/"):
            problems.append(f"job {item['job_id']['S']} has output location {location!r}")
            continue
        if location not in outputs_seen:
            key = location.split("/", 3)[3]
            outputs_seen[location] = _read(api, bucket, key).decode().splitlines()
        lines = outputs_seen[location]
        if not 1 <= line <= len(lines) or "summary_text" not in json.loads(lines[line - 1]):
            problems.append(f"job {item['job_id']['S']}: no summary at line {line} of {location}")
    # ... and a row of the curated dataset (curated/summaries/dt=<day>/<inference id>.jsonl).
    rows = []
    for key in _keys(api, bucket, "curated/summaries/"):
        rows += [json.loads(x) for x in _read(api, bucket, key).decode().splitlines() if x]
    curated = {row.get("job_id") for row in rows if row.get("submission") == trip.submission}
    succeeded_ids = {i["job_id"]["S"] for i in jobs if i["status"]["S"] == "succeeded"}
    if succeeded_ids - curated:
        problems.append(f"{len(succeeded_ids - curated)} summaries missing from curated/summaries/")
    trip.curated_rows = len(curated & succeeded_ids)
    # The dispatcher grouped documents: count the lines of the requests of this submission.
    job_ids = {item["job_id"]["S"] for item in jobs}
    for key in _keys(api, bucket, "requests/"):
        if key.startswith("requests/smoke/"):
            continue
        lines = [json.loads(x) for x in _read(api, bucket, key).decode().splitlines() if x]
        if lines and all(line.get("id") in job_ids for line in lines):
            trip.request_sizes.append(len(lines))
    if not trip.request_sizes:
        problems.append("no grouped request of this submission under requests/")
    elif grouped and len(trip.request_sizes) > 1 and min(trip.request_sizes) < 2:
        problems.append(f"requests grouped too few documents: sizes {sorted(trip.request_sizes)}")
    if problems:
        raise StepFailed("the round trip left the wrong state:\n  " + "\n  ".join(problems))
