"""Policy statements as IAM evaluates them (the emulator's fix of moto's bucket policies)."""

from __future__ import annotations

import json

import pytest

from rehearsal.emulator.policies import (
    SECURE_CONTEXT,
    Decision,
    Principal,
    UnsupportedCondition,
    condition_holds,
    evaluate,
)

BUCKET = "arn:aws:s3:::data"
TLS_ONLY = {
    "Action": "s3:*",
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    "Effect": "Deny",
    "Principal": {"AWS": "*"},
    "Resource": [BUCKET, f"{BUCKET}/*"],
}
ALLOW_ROLE = {
    "Action": ["s3:GetObject*", "s3:List*"],
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::123456789012:role/reader"},
    "Resource": [BUCKET, f"{BUCKET}/*"],
}


def policy(*statements: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_tls_only_deny_does_not_apply_to_requests_over_tls() -> None:
    """moto denied every request here: a statement whose condition does not hold is skipped."""
    decision = evaluate(policy(TLS_ONLY), "s3:PutObject", f"{BUCKET}/inputs/a.txt",
                        context=SECURE_CONTEXT)  # fmt: skip
    assert decision is Decision.NEUTRAL


def test_tls_only_deny_applies_to_plain_http() -> None:
    context = {"aws:SecureTransport": "false"}
    decision = evaluate(policy(TLS_ONLY), "s3:PutObject", f"{BUCKET}/a", context=context)
    assert decision is Decision.DENY


def test_deny_wins_over_allow() -> None:
    deny_get = {**ALLOW_ROLE, "Effect": "Deny", "Principal": "*", "Condition": {}}
    reader = Principal("arn:aws:sts::123456789012:assumed-role/reader/session")
    assert evaluate(policy(ALLOW_ROLE), "s3:GetObject", f"{BUCKET}/a", principal=reader) is (
        Decision.ALLOW
    )
    assert (
        evaluate(policy(ALLOW_ROLE, deny_get), "s3:GetObject", f"{BUCKET}/a", principal=reader)
        is Decision.DENY
    )


def test_a_role_session_matches_its_role_and_nothing_else() -> None:
    other = Principal("arn:aws:sts::123456789012:assumed-role/writer/session")
    assert evaluate(policy(ALLOW_ROLE), "s3:GetObject", f"{BUCKET}/a", principal=other) is (
        Decision.NEUTRAL
    )


def test_action_and_resource_wildcards() -> None:
    assert evaluate(policy(ALLOW_ROLE), "s3:PutObject", f"{BUCKET}/a") is Decision.NEUTRAL
    assert evaluate(policy(ALLOW_ROLE), "s3:GetObjectVersion", "arn:aws:s3:::other/a") is (
        Decision.NEUTRAL
    )


@pytest.mark.parametrize(
    ("condition", "context", "holds"),
    [
        ({"StringEquals": {"aws:SourceAccount": "1"}}, {"aws:SourceAccount": "1"}, True),
        ({"StringEquals": {"aws:SourceAccount": "1"}}, {"aws:SourceAccount": "2"}, False),
        ({"StringEquals": {"aws:SourceAccount": "1"}}, {}, False),
        ({"StringEqualsIfExists": {"aws:SourceAccount": "1"}}, {}, True),
        ({"StringNotEquals": {"aws:SourceAccount": ["1", "2"]}}, {"aws:SourceAccount": "3"}, True),
        ({"StringNotEquals": {"aws:SourceAccount": ["1", "2"]}}, {"aws:SourceAccount": "2"}, False),
        ({"StringLike": {"s3:prefix": "inputs/*"}}, {"s3:prefix": "inputs/a/b"}, True),
        (
            {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:1:topic-*"}},
            {"aws:SourceArn": "arn:aws:sns:us-east-1:1:topic-a"},
            True,
        ),
        (
            {"ArnEquals": {"aws:SourceArn": ["arn:a:b:c:d:e", "arn:a:b:c:d:f"]}},
            {"aws:SourceArn": "arn:a:b:c:d:f"},
            True,
        ),
        ({"Null": {"aws:SourceArn": "true"}}, {}, True),
        ({"Null": {"aws:SourceArn": "false"}}, {}, False),
        ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "7"}, True),
        ({"Bool": {"aws:SecureTransport": False}}, SECURE_CONTEXT, False),
        ({"StringEquals": {"AWS:SourceAccount": "1"}}, {"aws:sourceaccount": "1"}, True),
    ],
)
def test_conditions(condition: dict[str, object], context: dict[str, str], holds: bool) -> None:
    assert condition_holds(condition, context) is holds


def test_moto_still_denies_what_the_emulator_allows() -> None:
    """moto 5.2.x's own evaluation of the TLS-only statement denies a request whatever its
    transport: while this holds, the emulator's evaluator is needed."""
    from moto.iam.access_control import IAMPolicy, PermissionResult

    moto_says = IAMPolicy(policy(TLS_ONLY)).is_action_permitted("s3:PutObject", f"{BUCKET}/a")
    assert moto_says == PermissionResult.DENIED


def test_an_unknown_operator_fails_loudly() -> None:
    with pytest.raises(UnsupportedCondition, match="DateGreaterThan"):
        condition_holds({"DateGreaterThan": {"aws:CurrentTime": "x"}}, {"aws:CurrentTime": "y"})
