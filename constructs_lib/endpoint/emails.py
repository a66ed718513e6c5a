"""E-mail address lists (topic subscriptions): pure Python, shared by constructs and config."""

from __future__ import annotations

import re
from collections.abc import Sequence

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


def email_problems(name: str, emails: Sequence[str]) -> list[str]:
    """Every problem with a list of e-mail addresses: each bad address and each duplicate.

    A duplicate would be a second subscription construct with the same id (a jsii error at
    synth time), so it is reported here with the rest instead.
    """
    if isinstance(emails, str) or not isinstance(emails, Sequence):
        return [f"{name}: must be a list of e-mail addresses (got {emails!r})"]
    problems: list[str] = []
    seen: set[str] = set()
    for email in emails:
        if not isinstance(email, str) or not EMAIL_PATTERN.match(email):
            problems.append(f"{name}: {email!r} is not an e-mail address")
            continue
        if email in seen:
            problems.append(f"{name}: {email!r} is listed more than once")
        seen.add(email)
    return problems
