"""Organization guardrail settings (pure Python): what ``OrgGuardrails`` applies, validated.

``GuardrailSettings`` is the ``guardrails`` section of an environment's configuration; its
``problems()`` uses the same checks as the ``OrgGuardrails`` aspect itself.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from constructs_lib._validation import is_token

ROLE_PATH = re.compile(r"^/([\x21-\x7e]+/)?$")
ROLE_NAME_PREFIX = re.compile(r"^[\w+=,.@-]{1,32}$")
POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}|aws):policy/[\x21-\x7e]+$")
TAG_KEY = re.compile(r"^(?!aws:)[\w\s+\-=._:/@]{1,128}$")
TAG_VALUE = re.compile(r"^[\w\s+\-=._:/@]{0,256}$")
ROLE_NAME_LIMIT = 64


def guardrail_problems(
    *,
    permissions_boundary_arn: str | None = None,
    role_path: str | None = None,
    role_name_prefix: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> list[str]:
    """Problems with guardrail settings, each naming the setting, the value and what is allowed."""
    problems: list[str] = []
    boundary = permissions_boundary_arn
    if boundary is not None and not is_token(boundary) and not POLICY_ARN.match(boundary):
        problems.append(
            "permissions_boundary_arn: must be an IAM managed policy ARN like "
            f"'arn:aws:iam::123456789012:policy/boundary' (got {boundary!r})"
        )
    path = role_path
    if path is not None and not is_token(path) and (len(path) > 512 or not ROLE_PATH.match(path)):
        problems.append(
            "role_path: must start and end with '/', printable ASCII without spaces, at most "
            f"512 characters, e.g. '/workloads/' (got {path!r})"
        )
    if role_name_prefix is not None and not ROLE_NAME_PREFIX.match(role_name_prefix):
        problems.append(
            "role_name_prefix: must be 1 to 32 letters, digits or '+=,.@_-' (role names are at "
            f"most {ROLE_NAME_LIMIT} characters and need room for a unique suffix) "
            f"(got {role_name_prefix!r})"
        )
    for key, value in (tags or {}).items():
        if not isinstance(key, str) or not TAG_KEY.match(key):
            problems.append(
                f"tags: key {key!r} must be 1 to 128 letters, digits, spaces or '+-=._:/@' and "
                "must not start with 'aws:'"
            )
        if not isinstance(value, str) or not TAG_VALUE.match(value):
            problems.append(
                f"tags.{key}: value {value!r} must be at most 256 letters, digits, spaces or "
                "'+-=._:/@'"
            )
    return problems


@dataclasses.dataclass(frozen=True, kw_only=True)
class GuardrailSettings:
    """Guardrails for every role and resource of a stack; each is optional."""

    #: The permissions boundary of every IAM role; None: none.
    permissions_boundary_arn: str | None = None
    #: The path of every IAM role; None: ``/``.
    role_path: str | None = None
    #: Every role gets a physical name starting with it; None: generated names.
    role_name_prefix: str | None = None
    #: Tags on every taggable resource.
    tags: dict[str, str] = dataclasses.field(default_factory=dict)

    def problems(self) -> list[str]:
        # The fields are guardrail_problems' (and apply_org_guardrails') arguments.
        return guardrail_problems(**dataclasses.asdict(self))
