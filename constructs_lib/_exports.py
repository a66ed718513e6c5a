"""Package exports that load on first use (PEP 562), for packages over pure settings modules.

The settings of the constructs (scaling, monitoring, guardrails, the data path's, the hosting
options') and the data path's runtime contract are pure Python: the app's configuration loader
and the tools in ``summarizer/`` import them without starting the CDK's Node process. A package
that imported its constructs eagerly would start it for them; ``lazy_exports`` lets
``from constructs_lib import AsyncEndpoint`` work while importing only the module that defines
the name, when it is first asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` for ``package``: ``exports`` maps each public name to the
    module (relative to ``package``) that defines it."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f".{exports[name]}", package), name)

    return __getattr__
