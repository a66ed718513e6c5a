"""IAM enforcement for the workloads: each Lambda function and each endpoint acts with its own
execution role, and a permission missing from a role fails the rehearsal.

moto (5.2.x) can enforce identity policies, but checks every action against the resource "*"
(S3 aside), so a least-privilege policy naming ARNs denies everything; it evaluates conditions
wrongly (see policies.py) and ignores key policies. Here:

* the emulator assumes each workload's role through STS (as Lambda and SageMaker do) and hands
  the session's credentials to the function's environment, its SQS pollers and the endpoint;
* every request signed with such a session is authorized before moto sees it: the action and
  the resource ARN(s) it touches are derived from the request (``Request``), then the role's
  identity policies (inline and managed) and the resource's own policy (bucket, queue, topic,
  key policy) are evaluated as IAM's policy evaluation logic says for one account
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html);
* the KMS use a request implies is authorized too: writing to an SSE-KMS bucket, queue or topic
  needs ``kms:GenerateDataKey`` on its key, reading ``kms:Decrypt``, and the key policy must
  allow it (directly, or by delegating to the account's IAM policies);
* an action of a workload the authorizer cannot map to a resource is denied ("not modeled"):
  an unmodeled call fails loudly instead of passing unchecked.

Not enforced: the CLI, the client and CloudFormation itself (they act as the account's
administrator), service-to-service deliveries (S3 and SNS to SQS), permissions boundaries,
service control policies, session policies and tag-based conditions.
"""

from __future__ import annotations

import io
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from rehearsal.emulator import policies
from rehearsal.emulator.state import current

SCOPE = re.compile(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/aws4_request")


@dataclass
class Check:
    """One permission a request needs: action on resource (with the request's context)."""

    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)


@dataclass
class Session:
    role_arn: str
    session_arn: str
    credentials: dict[str, str]


class NotModeled(Exception):
    """The authorizer cannot tell what a workload's request touches: it is denied."""


class Enforcer:
    """Sessions of the workloads' roles, and the decisions on their requests."""

    def __init__(self, account: str, region: str) -> None:
        self.account = account
        self.region = region
        self.sessions: dict[str, Session] = {}  # access key id -> session
        self.by_role: dict[str, Session] = {}
        self.denials: list[str] = []
        self.allowed = 0
        self._lock = threading.Lock()

    # --- sessions -----------------------------------------------------------------------

    def session(self, role_arn: str, name: str) -> Session:
        """Credentials of ``role_arn`` (assumed once per role through the emulator's STS)."""
        with self._lock:
            if role_arn in self.by_role:
                return self.by_role[role_arn]
        answer = current.require_api().call(
            "sts", "AssumeRole", RoleArn=role_arn, RoleSessionName=name[:64]
        )
        credentials = answer["Credentials"]
        session = Session(
            role_arn=role_arn,
            session_arn=answer["AssumedRoleUser"]["Arn"],
            credentials={
                "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
                "AWS_SESSION_TOKEN": credentials["SessionToken"],
            },
        )
        with self._lock:
            self.sessions[credentials["AccessKeyId"]] = session
            self.by_role[role_arn] = session
        return session

    # --- decisions ----------------------------------------------------------------------

    def authorize(self, environ: dict[str, Any]) -> tuple[str, str] | None:
        """None when the request may go on, else (service, why it is denied)."""
        match = SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if match is None:
            return None
        key, region, service = match.groups()
        session = self.sessions.get(key)
        if session is None:
            return None
        try:
            request = Request(environ, service, region, self.account)
            for check in request.checks():
                reason = self._decide(session, check)
                if reason is not None:
                    return self._deny(service, session, reason)
            if request.missing is not None and self._decide(session, request.missing):
                # S3 answers 403, not 404, for a missing key to a caller who may not list
                # the bucket (it must not learn which keys exist).
                self.allowed += 1
                return (
                    service,
                    f"AccessDenied: {request.missing.resource} (missing key, no s3:ListBucket)",
                )
        except NotModeled as error:
            return self._deny(service, session, f"not modeled by the rehearsal: {error}")
        except Exception as error:  # a bug of the authorizer: denied, and said so
            return self._deny(
                service, session, f"authorizer error: {type(error).__name__}: {error}"
            )
        self.allowed += 1
        return None

    def _deny(self, service: str, session: Session, reason: str) -> tuple[str, str]:
        role = session.role_arn.rsplit("/", 1)[1]
        message = f"{role} is not authorized: {reason}"
        self.denials.append(message)
        return service, message

    def _decide(self, session: Session, check: Check) -> str | None:
        principal = policies.Principal(session.session_arn)
        context = {
            **policies.SECURE_CONTEXT,
            "aws:PrincipalArn": session.role_arn,
            "aws:PrincipalAccount": self.account,
            "aws:RequestedRegion": self.region,
            **check.context,
        }
        identity = policies.Decision.NEUTRAL
        for document in _role_policies(session.role_arn):
            decision = policies.evaluate(
                document, check.action, check.resource, principal=None, context=context
            )
            if decision is policies.Decision.DENY:
                return f"{check.action} on {check.resource}: explicitly denied by its role"
            if decision is policies.Decision.ALLOW:
                identity = decision
        policy_text, is_key = _resource_policy(check.resource)
        resource_policy = _parsed(policy_text) if policy_text else None
        resource = policies.Decision.NEUTRAL
        if resource_policy:
            resource = policies.evaluate(
                resource_policy, check.action, check.resource, principal=principal,
                context=context,
            )  # fmt: skip
            if resource is policies.Decision.DENY:
                return f"{check.action} on {check.resource}: denied by the resource's policy"
        if is_key:
            root = policies.Principal(f"arn:aws:iam::{self.account}:root")
            delegates = (
                resource_policy
                and policies.evaluate(
                    resource_policy, check.action, check.resource, principal=root, context=context
                )
                is policies.Decision.ALLOW
            )
            if resource is policies.Decision.ALLOW:
                return None
            if delegates and identity is policies.Decision.ALLOW:
                return None
            return f"{check.action} on {check.resource}: not allowed by the key policy and role"
        if identity is policies.Decision.ALLOW or resource is policies.Decision.ALLOW:
            return None
        return f"{check.action} on {check.resource}: no policy of its role allows it"


def _role_policies(role_arn: str) -> list[dict[str, Any]]:
    """The role's policy documents, parsed (cached per document text: a load run asks for them
    tens of thousands of times, and an update deploys new text)."""
    from moto.iam.models import iam_backends

    account = role_arn.split(":")[4]
    role = iam_backends[account]["aws"].get_role_by_arn(role_arn)
    documents = list(role.policies.values())
    for managed in role.managed_policies.values():
        default = next(v for v in managed.versions if v.is_default)
        documents.append(default.document)
    return [_parsed(d if isinstance(d, str) else json.dumps(d)) for d in documents]


_PARSED: dict[str, dict[str, Any]] = {}


def _parsed(text: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(text, dict):
        return text
    if isinstance(text, bytes):
        text = text.decode()
    found = _PARSED.get(text)
    if found is None:
        found = json.loads(text)
        _PARSED[text] = found
    return found


def _resource_policy(arn: str) -> tuple[str | None, bool]:
    """The policy attached to the resource ``arn`` names, and whether it is a key policy."""
    parts = arn.split(":")
    service, region, account = parts[2], parts[3], parts[4]
    if service == "s3":
        from moto.s3.models import s3_backends

        bucket_name = parts[5].split("/")[0]
        bucket = s3_backends[account or current_account()]["aws"].buckets.get(bucket_name)
        policy = bucket.policy if bucket is not None else None
        return (policy.decode() if isinstance(policy, bytes) else policy), False
    if service == "sqs":
        from moto.sqs.models import sqs_backends

        queue = sqs_backends[account][region].queues.get(parts[5])
        return (queue.policy if queue is not None else None), False
    if service == "sns":
        from moto.sns.models import sns_backends

        topic = sns_backends[account][region].topics.get(arn)
        return (topic._policy_json and json.dumps(topic._policy_json) if topic else None), False
    if service == "kms":
        from moto.kms.models import kms_backends

        key = kms_backends[account][region].keys.get(parts[5].split("/")[-1])
        return (key.policy if key is not None else None), True
    return None, False


def current_account() -> str:
    from rehearsal.emulator import aws

    return aws.ACCOUNT


def key_arn(key_id: str, region: str, account: str) -> str:
    """Any key reference (id, ARN, alias) as the key's ARN."""
    from moto.kms.models import kms_backends

    backend = kms_backends[account][region]
    raw = backend.any_id_to_key_id(key_id)
    return f"arn:aws:kms:{region}:{account}:key/{raw}"


TRANSACT_ACTIONS = {
    "Get": "GetItem",
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


class Request:
    """What one request of a workload touches: the checks it needs."""

    def __init__(self, environ: dict[str, Any], service: str, region: str, account: str) -> None:
        self.environ = environ
        self.service = service
        self.region = region
        self.account = account
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(self.body)
        self.path = environ.get("PATH_INFO", "")
        self.query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        self.method = environ["REQUEST_METHOD"]
        # For a GET/HEAD of a missing object: the s3:ListBucket that decides 403 versus 404.
        self.missing: Check | None = None

    def checks(self) -> list[Check]:
        handler = getattr(self, f"_{self.service.replace('-', '_')}", None)
        if handler is None:
            raise NotModeled(f"service {self.service}")
        checks: list[Check] = handler()
        return checks

    def _json(self) -> tuple[str, dict[str, Any]]:
        target = self.environ.get("HTTP_X_AMZ_TARGET", "")
        return target.split(".")[-1], json.loads(self.body or b"{}")

    # --- services ---------------------------------------------------------------------

    def _sts(self) -> list[Check]:
        return []  # GetCallerIdentity and friends: always allowed

    def _dynamodb(self) -> list[Check]:
        operation, body = self._json()
        table = f"arn:aws:dynamodb:{self.region}:{self.account}:table/"
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [Check(f"dynamodb:{operation}", table + name) for name in body["RequestItems"]]
        if operation in ("TransactWriteItems", "TransactGetItems"):
            checks = []
            for item in body["TransactItems"]:
                ((kind, spec),) = item.items()
                action = TRANSACT_ACTIONS[kind]
                checks.append(Check(f"dynamodb:{action}", table + spec["TableName"]))
            return checks
        if "TableName" not in body:
            raise NotModeled(f"dynamodb:{operation}")
        resource = table + body["TableName"]
        if body.get("IndexName"):
            resource += f"/index/{body['IndexName']}"
        return [Check(f"dynamodb:{operation}", resource)]

    def _queue_arn(self, body: dict[str, Any]) -> str:
        if "QueueUrl" in body:
            account, name = body["QueueUrl"].rstrip("/").split("/")[-2:]
        elif "QueueName" in body:
            account, name = body.get("QueueOwnerAWSAccountId", self.account), body["QueueName"]
        else:
            raise NotModeled("an SQS request without a queue")
        return f"arn:aws:sqs:{self.region}:{account}:{name}"

    def _sqs(self) -> list[Check]:
        operation, body = self._json()
        action = operation.removesuffix("Batch")
        arn = self._queue_arn(body)
        checks = [Check(f"sqs:{action}", arn)]
        key = _queue_key(arn)
        if key and action == "SendMessage":
            checks += [Check("kms:GenerateDataKey", key, self._via("sqs")),
                       Check("kms:Decrypt", key, self._via("sqs"))]  # fmt: skip
        if key and action == "ReceiveMessage":
            checks.append(Check("kms:Decrypt", key, self._via("sqs")))
        return checks

    def _sns(self) -> list[Check]:
        form = {k: v[0] for k, v in parse_qs(self.body.decode()).items()}
        action = form.get("Action", "")
        if action not in ("Publish", "PublishBatch"):
            raise NotModeled(f"sns:{action}")
        topic = form.get("TopicArn") or form.get("TargetArn", "")
        checks = [Check("sns:Publish", topic)]
        key = _topic_key(topic)
        if key:
            checks += [Check("kms:GenerateDataKey", key, self._via("sns")),
                       Check("kms:Decrypt", key, self._via("sns"))]  # fmt: skip
        return checks

    def _sagemaker(self) -> list[Check]:
        match = re.fullmatch(r"/endpoints/([^/]+)/(async-)?invocations", self.path)
        if match is None:
            raise NotModeled(f"sagemaker {self.method} {self.path}")
        action = "InvokeEndpointAsync" if match.group(2) else "InvokeEndpoint"
        return [Check(f"sagemaker:{action}", self._endpoint_arn(unquote(match.group(1))))]

    def _endpoint_arn(self, name: str) -> str:
        """The endpoint's ARN as the emulator made it. (SageMaker writes the name in lower case
        in ARNs; moto keeps its case, and so does the Ref that policies name it by.)"""
        from moto.sagemaker.models import sagemaker_backends

        endpoint = sagemaker_backends[self.account][self.region].endpoints.get(name)
        if endpoint is None:
            return f"arn:aws:sagemaker:{self.region}:{self.account}:endpoint/{name.lower()}"
        arn: str = endpoint.arn
        return arn

    def _kms(self) -> list[Check]:
        operation, body = self._json()
        if "KeyId" not in body:
            raise NotModeled(f"kms:{operation}")
        return [Check(f"kms:{operation}", key_arn(body["KeyId"], self.region, self.account))]

    def _via(self, service: str) -> dict[str, str]:
        return {"kms:ViaService": f"{service}.{self.region}.amazonaws.com",
                "kms:CallerAccount": self.account}  # fmt: skip

    def _s3(self) -> list[Check]:
        parts = self.path.lstrip("/").split("/", 1)
        bucket = parts[0]
        key = unquote(parts[1]) if len(parts) > 1 and parts[1] else ""
        bucket_arn = f"arn:aws:s3:::{bucket}"
        q = self.query
        if not bucket:
            raise NotModeled("s3 ListBuckets")
        if not key:
            action = self._bucket_action(q)
            return [Check(action, bucket_arn)]
        object_arn = f"{bucket_arn}/{key}"
        versioned = "versionId" in q
        if self.method in ("GET", "HEAD"):
            if q.keys() - {"versionId", "partNumber", "response-content-type"}:
                raise NotModeled(f"s3 {self.method} ?{'&'.join(q)}")
            checks = [Check("s3:GetObjectVersion" if versioned else "s3:GetObject", object_arn)]
            exists, kms = _object_key(bucket, key, q.get("versionId", [None])[0])
            if kms:
                checks.append(Check("kms:Decrypt", kms, self._via("s3")))
            if not exists:
                self.missing = Check("s3:ListBucket", bucket_arn, {"s3:prefix": key})
            return checks
        if self.method == "PUT" and not q.keys() - {"x-id"}:
            checks = [Check("s3:PutObject", object_arn)]
            kms = self.environ.get("HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION_AWS_KMS_KEY_ID")
            encryption = self.environ.get("HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION")
            kms = kms or (None if encryption == "AES256" else _bucket_key(bucket))
            if kms:
                arn = key_arn(kms, self.region, self.account)
                checks.append(Check("kms:GenerateDataKey", arn, self._via("s3")))
            return checks
        if self.method == "DELETE" and not q.keys() - {"versionId", "x-id"}:
            return [Check("s3:DeleteObjectVersion" if versioned else "s3:DeleteObject", object_arn)]
        if self.method in ("POST", "PUT", "DELETE") and q.keys() & {"uploadId", "uploads"}:
            action = "s3:AbortMultipartUpload" if self.method == "DELETE" else "s3:PutObject"
            return [Check(action, object_arn)]
        raise NotModeled(f"s3 {self.method} {key} ?{'&'.join(q)}")

    def _bucket_action(self, q: dict[str, list[str]]) -> str:
        subresources = {
            "versions": "s3:ListBucketVersions",
            "notification": "s3:{}BucketNotification",
            "policy": "s3:{}BucketPolicy",
            "tagging": "s3:{}BucketTagging",
            "versioning": "s3:{}BucketVersioning",
            "location": "s3:GetBucketLocation",
            "delete": "s3:DeleteObject",
            "encryption": "s3:{}EncryptionConfiguration",
        }
        verb = {"GET": "Get", "PUT": "Put", "DELETE": "Delete", "POST": "Put", "HEAD": "Get"}
        for name, action in subresources.items():
            if name in q:
                return action.format(verb[self.method])
        if self.method in ("GET", "HEAD") and not q.keys() - {"list-type", "prefix",
                                                              "max-keys", "continuation-token",
                                                              "delimiter", "encoding-type",
                                                              "start-after"}:  # fmt: skip
            return "s3:ListBucket"
        raise NotModeled(f"s3 bucket {self.method} ?{'&'.join(q)}")


def _queue_key(arn: str) -> str | None:
    from moto.sqs.models import sqs_backends

    _, _, _, region, account, name = arn.split(":")
    queue = sqs_backends[account][region].queues.get(name)
    key = getattr(queue, "kms_master_key_id", None) if queue is not None else None
    return key_arn(key, region, account) if key and key != "alias/aws/sqs" else None


def _topic_key(arn: str) -> str | None:
    from moto.sns.models import sns_backends

    parts = arn.split(":")
    if len(parts) < 6:
        return None
    topic = sns_backends[parts[4]][parts[3]].topics.get(arn)
    key = getattr(topic, "kms_master_key_id", None) if topic is not None else None
    return key_arn(key, parts[3], parts[4]) if key and key != "alias/aws/sns" else None


def _bucket_key(bucket_name: str) -> str | None:
    from moto.s3.models import s3_backends

    bucket = s3_backends[current_account()]["aws"].buckets.get(bucket_name)
    rule = ((bucket.encryption or {}).get("Rule") or {}) if bucket is not None else {}
    if isinstance(rule, list):
        rule = rule[0] if rule else {}
    default = rule.get("ApplyServerSideEncryptionByDefault", {})
    if default.get("SSEAlgorithm") == "aws:kms":
        return default.get("KMSMasterKeyID")
    return None


def _object_key(bucket_name: str, key: str, version: str | None) -> tuple[bool, str | None]:
    """Whether the object exists, and the ARN of the key it is encrypted with."""
    from moto.s3.models import s3_backends

    try:
        found = s3_backends[current_account()]["aws"].get_object(bucket_name, key, version)
    except Exception:
        return False, None
    if found is None:
        return False, None
    kms = getattr(found, "kms_key_id", None)
    return True, (key_arn(kms, "us-east-1", current_account()) if kms else None)


def denial(service: str, message: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """The service's own shape of an access-denied error."""
    if service in ("s3",):
        body = f"<Error><Code>AccessDenied</Code><Message>{message}</Message></Error>"
        return "403 Forbidden", [("Content-Type", "application/xml")], body.encode()
    if service in ("sns", "sts", "iam"):
        body = (
            "<ErrorResponse><Error><Type>Sender</Type><Code>AuthorizationError</Code>"
            f"<Message>{message}</Message></Error><RequestId>r</RequestId></ErrorResponse>"
        )
        return "403 Forbidden", [("Content-Type", "text/xml")], body.encode()
    headers = [("Content-Type", "application/x-amz-json-1.0"),
               ("x-amzn-ErrorType", "AccessDeniedException")]  # fmt: skip
    body = json.dumps({"__type": "AccessDeniedException", "message": message})
    return "400 Bad Request", headers, body.encode()
