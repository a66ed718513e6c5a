"""The library's public names: each one a package lists is importable from it, and only those."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = ("constructs_lib", "constructs_lib.hosting", "constructs_lib.data_path")


@pytest.mark.parametrize("package", PACKAGES)
def test_every_listed_name_is_importable_from_its_package(package: str) -> None:
    module = importlib.import_module(package)
    exports = vars(module)["_EXPORTS"]
    assert sorted(module.__all__) == sorted(exports)
    for name in module.__all__:
        value = getattr(module, name)
        # The name is defined where the table says, not only re-exported from there.
        defined_in = f"{package}.{exports[name]}"
        assert getattr(value, "__module__", defined_in) == defined_in, name


@pytest.mark.parametrize("package", PACKAGES)
def test_an_unknown_name_is_an_attribute_error_naming_the_package(package: str) -> None:
    module = importlib.import_module(package)
    with pytest.raises(AttributeError) as raised:
        module.NoSuchConstruct  # noqa: B018
    assert str(raised.value) == f"module {package!r} has no attribute 'NoSuchConstruct'"
