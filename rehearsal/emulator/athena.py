"""Athena's current protocol in front of moto's Athena.

botocore 1.44 speaks Athena's REST JSON protocol (``POST /workgroups``, ``GET
/workgroups/{WorkGroup}``...); moto (5.2.x) serves only the older JSON 1.1 protocol (``POST /``
with ``X-Amz-Target: AmazonAthena.<Operation>``) and answers 404 to everything else. This
translator turns a REST JSON request into the JSON 1.1 request moto understands: the operation
comes from the method and path (botocore's own service model), the URI and query string
members join the JSON body. Responses need no translation: both protocols put the output
members in a JSON body.
"""

from __future__ import annotations

import functools
import io
import json
import re
from typing import Any
from urllib.parse import parse_qs, unquote

SCOPE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/athena/aws4_request")


@functools.cache
def _routes() -> list[tuple[str, re.Pattern[str], str, Any]]:
    import botocore.session

    model = botocore.session.get_session().get_service_model("athena")
    routes = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        uri = operation.http["requestUri"].split("?")[0]
        pattern = re.sub(r"\{(\w+)\+?\}", r"(?P<\1>[^/]+)", uri)
        routes.append((operation.http["method"], re.compile(f"^{pattern}$"), name, operation))
    return routes


def translate(environ: dict[str, Any]) -> None:
    """Rewrite ``environ`` in place when it is an Athena REST JSON request."""
    path = environ.get("PATH_INFO", "")
    if path == "/" or not SCOPE.search(environ.get("HTTP_AUTHORIZATION", "")):
        return
    method = environ["REQUEST_METHOD"]
    for route_method, pattern, name, operation in _routes():
        match = pattern.match(path) if route_method == method else None
        if match is None:
            continue
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        body: dict[str, Any] = json.loads(raw) if raw.strip() else {}
        members = operation.input_shape.members if operation.input_shape else {}
        by_location = {
            (shape.serialization.get("location"), shape.serialization.get("name", member)): member
            for member, shape in members.items()
        }
        for variable, value in match.groupdict().items():
            body[by_location.get(("uri", variable), variable)] = unquote(value)
        for key, values in parse_qs(environ.get("QUERY_STRING", "")).items():
            member = by_location.get(("querystring", key), key)
            shape = members.get(member)
            value: Any = values[0]
            if shape is not None and shape.type_name == "boolean":
                value = value.lower() == "true"
            elif shape is not None and shape.type_name in ("integer", "long"):
                value = int(value)
            body[member] = value
        payload = json.dumps(body).encode()
        environ.update(
            {
                "PATH_INFO": "/",
                "QUERY_STRING": "",
                "REQUEST_METHOD": "POST",
                "CONTENT_TYPE": "application/x-amz-json-1.1",
                "CONTENT_LENGTH": str(len(payload)),
                "HTTP_X_AMZ_TARGET": f"AmazonAthena.{name}",
                "wsgi.input": io.BytesIO(payload),
            }
        )
        return
