"""Resource properties checked against the CloudFormation schemas that cfn-lint ships.

cfn-lint lints whole templates; these tests also want to know that one shape (a deployment
config, a data capture config, a model data source) is valid on its own, with the schema's
enums, bounds and required keys. Intrinsics (``Ref``, ``Fn::GetAtt``, ``Fn::Join``...) are
replaced by a placeholder that only type and pattern checks could object to, and those objections
are ignored: CloudFormation resolves them at deploy time.
"""

from __future__ import annotations

from typing import Any

PLACEHOLDER = "resolved-at-deploy-time"


def _without_intrinsics(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and (next(iter(value)) == "Ref" or next(iter(value)).startswith("Fn::")):
            return PLACEHOLDER
        return {k: _without_intrinsics(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_intrinsics(v) for v in value]
    return value


def schema_errors(resource_type: str, properties: dict[str, Any]) -> list[str]:
    """Every way ``properties`` break the schema of ``resource_type`` (us-east-1, as cfn-lint)."""
    import jsonschema
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
    validator = jsonschema.Draft7Validator(schema)
    return sorted(
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(_without_intrinsics(properties))
        if error.instance != PLACEHOLDER
    )
