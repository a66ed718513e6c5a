"""Each data path function's role allows exactly the AWS calls its runtime code makes.

The calls are read from the runtime modules with ``ast``: each handler module builds its logic
class in ``_build()`` with ``name=boto3.client("<service>")`` keywords, and calls them as
``self.<name>.<operation>(...)``. ``CALL_ACTIONS`` maps each call to the IAM actions it needs
(Service Authorization Reference); ``WITHOUT_A_CALL`` lists what a role needs although no code
of ours calls it. The role's statements in the synthesized template must match both, so a grant
cannot go missing (the call fails in AWS) or linger (a permission nothing uses).

A new call or grant fails here until this table says why: add the call's actions to
``CALL_ACTIONS``, or the grant to ``WITHOUT_A_CALL`` with its reason.
"""

from __future__ import annotations

import ast
from typing import Any

import pytest

from tests.conftest import ROOT, only

RUNTIME = ROOT / "constructs_lib" / "data_path" / "runtime"
HANDLER_MODULES = {
    "dispatcher": "runtime.dispatcher.handler",
    "recorder": "runtime.recorder.handler",
}

# (service, operation) -> IAM actions of the call itself.
CALL_ACTIONS: dict[tuple[str, str], set[str]] = {
    ("s3", "get_object"): {"s3:GetObject"},
    ("s3", "put_object"): {"s3:PutObject"},
    ("dynamodb", "get_item"): {"dynamodb:GetItem"},
    ("dynamodb", "batch_get_item"): {"dynamodb:BatchGetItem"},
    ("dynamodb", "put_item"): {"dynamodb:PutItem"},
    ("dynamodb", "update_item"): {"dynamodb:UpdateItem"},
    ("dynamodb", "query"): {"dynamodb:Query"},
    ("sqs", "send_message"): {"sqs:SendMessage"},
    ("sagemaker-runtime", "invoke_endpoint_async"): {"sagemaker:InvokeEndpointAsync"},
}
# A call's request parameter that needs an action of its own: GetObject with VersionId is
# s3:GetObjectVersion on a versioned bucket.
PARAMETER_ACTIONS: dict[tuple[str, str, str], str] = {
    ("s3", "get_object", "VersionId"): "s3:GetObjectVersion",
}
# KMS actions the service calls with the caller's permissions, per key: S3 on the storage key
# (SSE-KMS: GetObject decrypts, PutObject generates a data key; S3 User Guide, "Protecting data
# with SSE-KMS"), DynamoDB on the storage key (DynamoDB Developer Guide, "Encryption at rest:
# how it works", customer managed key), SQS on the data path key (SQS Developer Guide, "Key
# management": producers GenerateDataKey and Decrypt, consumers Decrypt).
STORAGE_KEY_ACTIONS: dict[str, set[str]] = {
    "s3:GetObject": {"kms:Decrypt"},
    "s3:PutObject": {"kms:GenerateDataKey"},
    "dynamodb:GetItem": {"kms:Decrypt", "kms:DescribeKey"},
    "dynamodb:BatchGetItem": {"kms:Decrypt", "kms:DescribeKey"},
    "dynamodb:Query": {"kms:Decrypt", "kms:DescribeKey"},
    "dynamodb:PutItem": {"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"},
    "dynamodb:UpdateItem": {
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:Encrypt",
        "kms:GenerateDataKey",
    },
}
QUEUE_KEY_ACTIONS: dict[str, set[str]] = {
    "sqs:SendMessage": {"kms:GenerateDataKey", "kms:Decrypt"},
    "sqs:ReceiveMessage": {"kms:Decrypt"},
}
# Actions a role may hold beside a call, for how the service answers it (not required for the
# call to succeed), with the reason.
MAY_ACCOMPANY: dict[tuple[str, str], dict[str, str]] = {
    ("s3", "get_object"): {
        "s3:ListBucket": "S3 answers a missing object with 404 (NoSuchKey) only to a caller "
        "that may list the bucket, and 403 otherwise (S3 API Reference, GetObject)",
    },
}
# Granted although no code of ours makes the call, with the reason.
WITHOUT_A_CALL: dict[str, str] = {
    # Lambda's SQS guide, "Execution role permissions": the event source mapping polls the
    # function's queue with the function's role.
    "sqs:ReceiveMessage": "Lambda's SQS poller reads the function's queue with its role",
    "sqs:DeleteMessage": "Lambda's SQS poller deletes the messages of a successful batch",
    "sqs:GetQueueAttributes": "Lambda's SQS poller reads the queue's attributes",
    # Lambda sends the function's output to its log group with the function's role.
    "logs:CreateLogStream": "Lambda writes the function's logs (Powertools' EMF metrics too)",
    "logs:PutLogEvents": "Lambda writes the function's logs (Powertools' EMF metrics too)",
}
# In a VPC (data_path.vpc): Lambda manages the function's network interfaces with its role
# (Lambda's guide for VPC functions, the actions of AWSLambdaVPCAccessExecutionRole).
WITHOUT_A_CALL_IN_A_VPC: dict[str, str] = {
    action: "Lambda manages the function's network interfaces in the VPC"
    for action in (
        "ec2:CreateNetworkInterface",
        "ec2:DeleteNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    )
}


def runtime_calls(module: str) -> set[tuple[str, str]]:
    """(service, operation) of every AWS call the handler module's logic makes."""
    tree = ast.parse((RUNTIME / f"{module}.py").read_text())
    (build,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "_build"]
    clients: dict[str, str] = {}
    for node in ast.walk(build):
        if isinstance(node, ast.keyword) and isinstance(node.value, ast.Call):
            call = node.value
            if (
                isinstance(call.func, ast.Attribute)
                and call.func.attr == "client"
                and isinstance(call.func.value, ast.Name)
                and call.func.value.id == "boto3"
            ):
                service = call.args[0]
                assert isinstance(service, ast.Constant), ast.dump(call)
                clients[str(node.arg)] = str(service.value)
    assert clients, f"{module}._build() makes no boto3 client: the parser needs updating"
    found: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        owner = node.func.value
        if (
            isinstance(owner, ast.Attribute)
            and isinstance(owner.value, ast.Name)
            and owner.value.id == "self"
            and owner.attr in clients
        ):
            found.add((clients[owner.attr], node.func.attr))
    return found


def parameters_used(module: str) -> set[str]:
    """String constants of the module (request parameters such as ``VersionId``)."""
    tree = ast.parse((RUNTIME / f"{module}.py").read_text())
    return {
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def needed_actions(module: str) -> set[str]:
    calls = runtime_calls(module)
    unknown = sorted(calls - set(CALL_ACTIONS))
    assert unknown == [], f"add the IAM actions of these calls to CALL_ACTIONS: {unknown}"
    actions = set().union(*(CALL_ACTIONS[c] for c in calls))
    used = parameters_used(module)
    for (service, operation, parameter), action in PARAMETER_ACTIONS.items():
        if (service, operation) in calls and parameter in used:
            actions.add(action)
    return actions


def role_statements(template: Any, handler: str) -> list[dict[str, Any]]:
    _, fn = only(template, "AWS::Lambda::Function", {"Properties": {"Handler": handler}})
    role_id = fn["Properties"]["Role"]["Fn::GetAtt"][0]
    role = template.to_json()["Resources"][role_id]["Properties"]
    assert "ManagedPolicyArns" not in role and "Policies" not in role
    policies = template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}}
    )
    return [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]


def actions_of(statement: dict[str, Any]) -> set[str]:
    value = statement["Action"]
    return {value} if isinstance(value, str) else set(value)


def key_of(statement: dict[str, Any]) -> str:
    resource = statement["Resource"]
    assert isinstance(resource, dict) and "Fn::GetAtt" in resource, statement
    return str(resource["Fn::GetAtt"][0])


def storage_key_id(template: Any) -> str:
    _, bucket = only(template, "AWS::S3::Bucket", {"Properties": {"LoggingConfiguration": {}}})
    (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    key_id: str = rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]["Fn::GetAtt"][0]
    return key_id


def queue_key_id(template: Any) -> str:
    _, queue = next(iter(template.find_resources("AWS::SQS::Queue").items()))
    key_id: str = queue["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    return key_id


def test_only_the_handler_modules_make_aws_calls() -> None:
    # Another module with a client would go unseen by the table below.
    with_clients = sorted(
        path.stem for path in RUNTIME.glob("*.py") if "boto3.client(" in path.read_text()
    )
    assert with_clients == sorted(HANDLER_MODULES)


def test_the_parser_sees_the_calls() -> None:
    # A parser that found nothing would make the comparison below vacuous.
    assert ("sagemaker-runtime", "invoke_endpoint_async") in runtime_calls("dispatcher")
    assert ("sqs", "send_message") in runtime_calls("recorder")


@pytest.fixture(params=["dev", "governed"])
def template(request: pytest.FixtureRequest) -> Any:
    """dev (no VPC) and prod in a VPC (tests/conftest.py, ``governed``)."""
    if request.param == "dev":
        return request.getfixturevalue("dev")
    return request.getfixturevalue("governed").template


def in_a_vpc(template: Any, handler: str) -> bool:
    _, fn = only(template, "AWS::Lambda::Function", {"Properties": {"Handler": handler}})
    return "VpcConfig" in fn["Properties"]


@pytest.mark.parametrize("module", sorted(HANDLER_MODULES))
def test_each_function_role_allows_exactly_what_its_code_calls(template: Any, module: str) -> None:
    handler = HANDLER_MODULES[module]
    statements = role_statements(template, handler)
    granted = {a for s in statements for a in actions_of(s) if not a.startswith("kms:")}
    needed = needed_actions(module) | set(WITHOUT_A_CALL)
    if in_a_vpc(template, handler):
        needed |= set(WITHOUT_A_CALL_IN_A_VPC)
    allowed = needed | {
        action for call in runtime_calls(module) for action in MAY_ACCOMPANY.get(call, {})
    }
    assert sorted(granted - allowed) == [], "granted but never called (or not in the table)"
    assert sorted(needed - granted) == [], "called but not granted"


@pytest.mark.parametrize("module", sorted(HANDLER_MODULES))
def test_each_function_role_uses_each_key_for_exactly_what_its_calls_need(
    dev: Any, module: str
) -> None:
    statements = role_statements(dev, HANDLER_MODULES[module])
    granted: dict[str, set[str]] = {}
    for statement in statements:
        kms = {a for a in actions_of(statement) if a.startswith("kms:")}
        if kms:
            granted.setdefault(key_of(statement), set()).update(kms)
    actions = needed_actions(module) | set(WITHOUT_A_CALL)
    needed = {
        storage_key_id(dev): set().union(*(STORAGE_KEY_ACTIONS.get(a, set()) for a in actions)),
        queue_key_id(dev): set().union(*(QUEUE_KEY_ACTIONS.get(a, set()) for a in actions)),
    }
    assert granted == {k: v for k, v in needed.items() if v}


def test_the_roles_carry_no_grant_the_issue_named(dev: Any) -> None:
    """The grants a review found unused (issue 18, item 16) stay gone."""
    dispatcher = {
        a for s in role_statements(dev, HANDLER_MODULES["dispatcher"]) for a in actions_of(s)
    }
    assert not dispatcher & {"sqs:SendMessage", "dynamodb:BatchGetItem", "sqs:GetQueueUrl"}
    recorder = role_statements(dev, HANDLER_MODULES["recorder"])
    reads = [s for s in recorder if "s3:GetObject" in actions_of(s)]
    assert "/failures/" not in str(reads)
    assert "sqs:GetQueueUrl" not in {a for s in recorder for a in actions_of(s)}
