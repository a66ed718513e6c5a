"""Every public construct documents each argument beside it, with the default it really has.

A construct's ``__init__`` carries one ``Args:`` entry per argument; an optional argument's
entry says ``Default: ``<expression>````, and the expression, evaluated in the construct's
module, equals the signature's default. A dataclass (props or settings) carries one ``#:``
comment above each field, whose default stands in the declaration beside it; a comment that
also states it must state the real one. The class docstring keeps what the construct makes, not
a paragraph of defaults.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re
import textwrap
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest


def construct_modules() -> list[str]:
    """Every module of the library that may define a public construct, factory, props or
    settings class."""
    import constructs_lib

    return sorted(
        info.name
        for info in pkgutil.walk_packages(constructs_lib.__path__, "constructs_lib.")
        if not any(part.startswith("_") for part in info.name.split(".")[1:])
        and ".runtime" not in info.name
    )


# Not documented here: the construct tree's own arguments.
UNDOCUMENTED = frozenset({"self", "cls", "scope", "construct_id"})
DEFAULT = re.compile(r"Default: ``(?P<expression>.+?)``", re.S)


def args_section(docstring: str | None) -> dict[str, str]:
    """The entries of a Google-style ``Args:`` section: name -> text."""
    lines = inspect.cleandoc(docstring or "").splitlines()
    entries: dict[str, str] = {}
    try:
        start = lines.index("Args:")
    except ValueError:
        return entries
    current = None
    for line in lines[start + 1 :]:
        if line and not line.startswith(" "):
            break  # the next section
        entry = re.match(r"^    (\*{0,2}\w+)(?: \([^)]*\))?: ?(.*)$", line)
        if entry:
            current = entry.group(1).lstrip("*")
            entries[current] = entry.group(2)
        elif current is not None:
            entries[current] += " " + line.strip()
    return entries


def field_comments(cls: type) -> dict[str, str]:
    """The ``#:`` comments above each field of a dataclass: name -> text."""
    comments: dict[str, str] = {}
    pending: list[str] = []
    for line in textwrap.dedent(inspect.getsource(cls)).splitlines()[1:]:
        stripped = line.strip()
        if stripped.startswith("#:"):
            pending.append(stripped[2:].strip())
            continue
        field = re.match(r"^    (\w+): ", line)
        if field and pending:
            comments[field.group(1)] = " ".join(pending)
        pending = []
    return comments


def default_problems(
    where: str,
    documented: dict[str, str],
    defaults: dict[str, Any],
    namespace: dict[str, Any],
    *,
    default_beside: bool = False,
) -> list[str]:
    """Arguments missing from the documentation, documented without existing, or whose
    ``Default:`` is missing, superfluous or not the real default. ``default_beside``: the
    default stands in the declaration beside the comment (a dataclass field), so the comment
    need not repeat it."""
    problems = [f"{where}: {name} is not documented" for name in defaults if name not in documented]
    problems += [
        f"{where}: {name} is documented but not an argument"
        for name in documented
        if name not in defaults
    ]
    for name, default in defaults.items():
        found = DEFAULT.search(documented.get(name, ""))
        if default is inspect.Parameter.empty:
            if found:
                problems.append(f"{where}: {name} is required but documents a default")
        elif found is None:
            if name in documented and not default_beside:
                problems.append(f"{where}: {name} has no 'Default: ``...``' (real: {default!r})")
        else:
            stated = eval(found.group("expression"), dict(namespace))
            if not same(stated, default):
                problems.append(
                    f"{where}: {name} documents Default {found.group('expression')} "
                    f"but defaults to {default!r}"
                )
    return problems


def same(stated: Any, default: Any) -> bool:
    """Equal, or the same jsii constant: each read of a static property like
    ``Architecture.ARM_64`` gives a new proxy object, equal to the last only by its name."""
    if stated == default:
        return True
    name = getattr(type(default), "name", None)
    return (
        type(stated) is type(default)
        and isinstance(name, property)
        and getattr(stated, "name", None) == getattr(default, "name", None)
    )


def signature_defaults(function: Callable[..., Any]) -> dict[str, Any]:
    return {
        name: parameter.default
        for name, parameter in inspect.signature(function).parameters.items()
        if name not in UNDOCUMENTED
        and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
    }


def dataclass_defaults(cls: type) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.default is not dataclasses.MISSING:
            defaults[field.name] = field.default
        elif field.default_factory is not dataclasses.MISSING:
            defaults[field.name] = field.default_factory()
        else:
            defaults[field.name] = inspect.Parameter.empty
    return defaults


def public_api(module: ModuleType) -> Iterator[tuple[str, Any]]:
    """The public constructs, aspects, props dataclasses and factories defined in ``module``."""
    from constructs import Construct

    for name, member in vars(module).items():
        if name.startswith("_") or getattr(member, "__module__", None) != module.__name__:
            continue
        if (
            inspect.isclass(member)
            and (
                issubclass(member, Construct)
                or dataclasses.is_dataclass(member)
                or hasattr(member, "visit")  # an aspect
            )
        ) or (inspect.isfunction(member) and name.startswith("apply_")):
            yield name, member


def documentation_problems(module: ModuleType) -> list[str]:
    namespace = vars(module)
    problems: list[str] = []
    for name, member in public_api(module):
        if inspect.isfunction(member):
            problems += default_problems(
                name, args_section(member.__doc__), signature_defaults(member), namespace
            )
            continue
        if dataclasses.is_dataclass(member):
            problems += default_problems(
                name,
                field_comments(member),
                dataclass_defaults(member),
                namespace,
                default_beside=True,
            )
        elif "__init__" in vars(member):
            init = vars(member)["__init__"]
            documented = args_section(init.__doc__) or args_section(member.__doc__)
            problems += default_problems(name, documented, signature_defaults(init), namespace)
        for factory_name, factory in vars(member).items():
            if isinstance(factory, (classmethod, staticmethod)) and factory_name.startswith(
                "from_"
            ):
                problems += default_problems(
                    f"{name}.{factory_name}",
                    args_section(factory.__func__.__doc__),
                    signature_defaults(factory.__func__),
                    namespace,
                )
        prose = re.search(r"\(default[: ]", member.__doc__ or "", re.I)
        if prose:
            problems.append(f"{name}: the class docstring still lists a default ({prose.group()})")
    return problems


@pytest.mark.parametrize("module_name", construct_modules())
def test_each_argument_documents_its_real_default(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert documentation_problems(module) == []


def test_every_construct_module_is_checked() -> None:
    modules = construct_modules()
    assert {
        "constructs_lib.model.construct",
        "constructs_lib.hosting.realtime",
        "constructs_lib.scaling.settings",
        "constructs_lib.hosting.realtime_settings",
    } <= set(modules)
    assert not [m for m in modules if ".runtime" in m]


def test_the_check_finds_a_wrong_a_missing_and_an_undocumented_default() -> None:
    def construct(
        scope: Any,
        construct_id: str,
        *,
        size: int,
        count: int = 2,
        name: str | None = None,
        mode: str = "a",
        extra: bool = False,
    ) -> None:
        """
        Args:
            size: required. Default: ``1``
            count: how many. Default: ``3``
            name: a name.
            mode: the mode. Default: ``"a"``
            gone: no longer an argument.
        """

    assert default_problems(
        "construct",
        args_section(construct.__doc__),
        signature_defaults(construct),
        {},
    ) == [
        "construct: extra is not documented",
        "construct: gone is documented but not an argument",
        "construct: size is required but documents a default",
        "construct: count documents Default 3 but defaults to 2",
        "construct: name has no 'Default: ``...``' (real: None)",
    ]


def test_the_check_reads_dataclass_field_comments() -> None:
    @dataclasses.dataclass(frozen=True)
    class Props:
        #: Required.
        size: int
        #: How many. Default: ``3``
        count: int = 2
        tags: dict[str, str] = dataclasses.field(default_factory=dict)

    assert default_problems(
        "Props", field_comments(Props), dataclass_defaults(Props), {}, default_beside=True
    ) == [
        "Props: tags is not documented",
        "Props: count documents Default 3 but defaults to 2",
    ]
