"""Every public construct argument that has a default says what the default is (issue 11)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest


def public_constructs() -> list[type]:
    from constructs import Construct

    import constructs_lib

    found: list[type] = []
    for info in pkgutil.walk_packages(constructs_lib.__path__, "constructs_lib."):
        # The Lambda runtime, the client and the simulator hold no constructs.
        if any(part in info.name for part in (".runtime", ".client", ".simulator")):
            continue
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            ours = cls.__module__ == module.__name__ and not name.startswith("_")
            if ours and issubclass(cls, Construct):
                found.append(cls)
    return sorted(found, key=lambda c: f"{c.__module__}.{c.__name__}")


@pytest.mark.parametrize("construct", public_constructs(), ids=lambda c: c.__name__)
def test_each_keyword_argument_with_a_default_is_documented(construct: type) -> None:
    documentation = (construct.__doc__ or "") + (construct.__init__.__doc__ or "")
    undocumented = [
        parameter.name
        for parameter in inspect.signature(construct.__init__).parameters.values()
        if parameter.kind is parameter.KEYWORD_ONLY
        and parameter.default is not inspect.Parameter.empty
        and parameter.name not in documentation
    ]
    assert undocumented == []
