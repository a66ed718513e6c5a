"""Evaluating one policy document's statements for a request, with conditions done right.

moto (5.2.x) treats a statement whose condition does not hold as a deny whatever its effect, and
knows only a few condition operators, so CDK's TLS-only statement (Deny when
``aws:SecureTransport`` is false) refuses every request. Here a statement applies only when its
action, resource, principal and every condition match; a condition on a key the request does not
carry does not match (except ``Null`` and the ``...IfExists`` forms), as in IAM's policy
evaluation logic:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
from collections.abc import Mapping
from enum import Enum
from typing import Any


class Decision(Enum):
    ALLOW = "allow"
    DENY = "deny"
    NEUTRAL = "neutral"


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _like(pattern: str, value: str, *, case: bool = True) -> bool:
    if not case:
        pattern, value = pattern.lower(), value.lower()
    # IAM wildcards: * any run of characters, ? one character (fnmatchcase's [] is not IAM's).
    escaped = pattern.replace("[", "[[]")
    return fnmatch.fnmatchcase(value, escaped)


def _arn_like(pattern: str, value: str) -> bool:
    pattern_parts = pattern.split(":", 5)
    value_parts = value.split(":", 5)
    if len(pattern_parts) != len(value_parts):
        return False
    return all(_like(p, v) for p, v in zip(pattern_parts, value_parts, strict=True))


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _compare(operator: str, expected: str, actual: str) -> bool:
    """One expected value against one actual value."""
    if operator == "StringEquals":
        return actual == expected
    if operator == "StringNotEquals":
        return actual != expected
    if operator == "StringEqualsIgnoreCase":
        return actual.lower() == expected.lower()
    if operator == "StringNotEqualsIgnoreCase":
        return actual.lower() != expected.lower()
    if operator == "StringLike":
        return _like(expected, actual)
    if operator == "StringNotLike":
        return not _like(expected, actual)
    if operator in ("ArnEquals", "ArnLike"):
        return _arn_like(expected, actual)
    if operator in ("ArnNotEquals", "ArnNotLike"):
        return not _arn_like(expected, actual)
    if operator == "Bool":
        return actual.lower() == str(expected).lower()
    if operator.startswith("Numeric"):
        a, e = _number(actual), _number(expected)
        if a is None or e is None:
            return False
        return {
            "NumericEquals": a == e,
            "NumericNotEquals": a != e,
            "NumericLessThan": a < e,
            "NumericLessThanEquals": a <= e,
            "NumericGreaterThan": a > e,
            "NumericGreaterThanEquals": a >= e,
        }.get(operator, False)
    if operator in ("IpAddress", "NotIpAddress"):
        inside = ipaddress.ip_address(actual) in ipaddress.ip_network(expected, strict=False)
        return inside if operator == "IpAddress" else not inside
    raise UnsupportedCondition(operator)


class UnsupportedCondition(Exception):
    """A condition operator this evaluator does not know: the rehearsal fails loudly."""


NEGATED = {
    "StringNotEquals",
    "StringNotEqualsIgnoreCase",
    "StringNotLike",
    "ArnNotEquals",
    "ArnNotLike",
    "NumericNotEquals",
    "NotIpAddress",
}


def condition_holds(condition: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    """Every operator, every key: all must hold (values of one key: any may match)."""
    lowered = {key.lower(): value for key, value in context.items()}
    for raw_operator, tests in condition.items():
        qualifier, _, operator = raw_operator.rpartition(":")
        if_exists = operator.endswith("IfExists")
        operator = operator.removesuffix("IfExists")
        for key, expected in tests.items():
            present = key.lower() in lowered
            actual = _list(lowered.get(key.lower()))
            expected_values = [
                str(v).lower() if isinstance(v, bool) else v for v in _list(expected)
            ]
            if operator == "Null":
                if (not present) != (str(expected_values[0]).lower() == "true"):
                    return False
                continue
            if not present:
                if if_exists:
                    continue
                # A negated operator on a missing key still does not match in IAM (ForAllValues
                # aside): the condition fails.
                if qualifier == "ForAllValues":
                    continue
                return False
            actual_values = [str(v) for v in actual]
            if qualifier == "ForAllValues":
                ok = all(
                    any(_compare(operator, str(e), a) for e in expected_values)
                    for a in actual_values
                )
            elif operator in NEGATED:
                ok = any(
                    all(_compare(operator, str(e), a) for e in expected_values)
                    for a in actual_values
                )
            else:
                ok = any(
                    _compare(operator, str(e), a) for e in expected_values for a in actual_values
                )
            if not ok:
                return False
    return True


def _principal_matches(statement: Mapping[str, Any], principal: Principal | None) -> bool:
    if "Principal" not in statement and "NotPrincipal" not in statement:
        return True  # an identity policy: it is the caller's own
    if "NotPrincipal" in statement:
        return principal is None or not principal.matches(statement["NotPrincipal"])
    value = statement["Principal"]
    if value == "*":
        return True
    if principal is None:
        # Without a known caller, only statements about everyone ("AWS": "*") apply.
        return isinstance(value, dict) and "*" in _list(value.get("AWS"))
    return principal.matches(value)


class Principal:
    """Who makes a request: an IAM ARN (role session, user, root) or a service principal."""

    def __init__(self, arn: str | None = None, *, service: str | None = None) -> None:
        self.arn = arn
        self.service = service

    def matches(self, value: Any) -> bool:
        if value == "*":
            return True
        if not isinstance(value, dict):
            return False
        if self.service is not None:
            return self.service in _list(value.get("Service"))
        candidates = _list(value.get("AWS"))
        if "*" in candidates or self.arn is None:
            return "*" in candidates
        account = self.arn.split(":")[4]
        for candidate in candidates:
            candidate = str(candidate)
            if candidate in (self.arn, account, f"arn:aws:iam::{account}:root"):
                return True
            if _role_of_session(self.arn) == candidate:
                return True
        return False


def _role_of_session(arn: str) -> str | None:
    """``arn:aws:sts::A:assumed-role/R/S`` is a session of ``arn:aws:iam::A:role/R``."""
    parts = arn.split(":")
    if len(parts) < 6 or not parts[5].startswith("assumed-role/"):
        return None
    return f"arn:aws:iam::{parts[4]}:role/{parts[5].split('/')[1]}"


def _matches_any(patterns: Any, value: str) -> bool:
    return any(_like(str(pattern), value, case=False) for pattern in _list(patterns))


def statement_applies(
    statement: Mapping[str, Any],
    action: str,
    resource: str,
    principal: Principal | None,
    context: Mapping[str, Any],
) -> bool:
    if "Action" in statement and not _matches_any(statement["Action"], action):
        return False
    if "NotAction" in statement and _matches_any(statement["NotAction"], action):
        return False
    if "Resource" in statement and not any(
        _like(str(p), resource) for p in _list(statement["Resource"])
    ):
        return False
    if "NotResource" in statement and any(
        _like(str(p), resource) for p in _list(statement["NotResource"])
    ):
        return False
    if not _principal_matches(statement, principal):
        return False
    return condition_holds(statement.get("Condition") or {}, context)


def evaluate(
    document: str | Mapping[str, Any],
    action: str,
    resource: str,
    *,
    principal: Principal | None = None,
    context: Mapping[str, Any] | None = None,
) -> Decision:
    """DENY if an applicable statement denies, else ALLOW if one allows, else NEUTRAL."""
    policy = json.loads(document) if isinstance(document, (str, bytes)) else document
    decision = Decision.NEUTRAL
    for statement in _list(policy.get("Statement")):
        if not statement_applies(statement, action, resource, principal, context or {}):
            continue
        if statement.get("Effect") == "Deny":
            return Decision.DENY
        if statement.get("Effect") == "Allow":
            decision = Decision.ALLOW
    return decision


# What every request to the emulator carries: it stands in for AWS's TLS endpoints.
SECURE_CONTEXT = {"aws:SecureTransport": "true"}
