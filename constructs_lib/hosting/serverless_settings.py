"""The limits of a serverless endpoint, apart from its construct so the configuration loads fast.

SageMaker API ``ProductionVariantServerlessConfig``: memory 1024-6144 MB in 1 GB steps, max
concurrency 1-200, provisioned concurrency 1-200 and at most the max concurrency. Pure Python.
"""

from __future__ import annotations

from typing import Any

from constructs_lib._validation import check_int

MEMORY_SIZES_MB = (1024, 2048, 3072, 4096, 5120, 6144)
MAX_CONCURRENCY = 200


def serverless_problems(
    memory_size_mb: Any, max_concurrency: Any, provisioned_concurrency: Any
) -> list[str]:
    """Problems with a serverless configuration, each naming the field, value and the limits."""
    problems: list[str] = []
    if isinstance(memory_size_mb, bool) or memory_size_mb not in MEMORY_SIZES_MB:
        problems.append(
            "memory_size_mb: must be one of "
            f"{', '.join(str(m) for m in MEMORY_SIZES_MB)} (1 GB steps) (got {memory_size_mb!r})"
        )
    check_int(problems, "max_concurrency", max_concurrency, minimum=1, maximum=MAX_CONCURRENCY)
    if provisioned_concurrency is not None:
        before = len(problems)
        check_int(
            problems,
            "provisioned_concurrency",
            provisioned_concurrency,
            minimum=1,
            maximum=MAX_CONCURRENCY,
        )
        if (
            len(problems) == before
            and isinstance(max_concurrency, int)
            and provisioned_concurrency > max_concurrency
        ):
            problems.append(
                f"provisioned_concurrency: must not exceed max_concurrency {max_concurrency!r} "
                f"(got {provisioned_concurrency!r})"
            )
    return problems
