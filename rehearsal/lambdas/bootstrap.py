"""One Lambda execution environment for a Python runtime, run as ``python -S -I bootstrap.py``.

It plays the part of Lambda's runtime interface client: the function's code (``LAMBDA_TASK_ROOT``)
and its merged layers (Lambda's ``/opt``) go on ``sys.path`` the way Lambda puts them there,
followed by the runtime's own SDK; the interpreter's site-packages stay out (``-S``), so a module
missing from the asset or the layer fails here as it would in Lambda. The handler module is
imported once (the init phase), then invocations arrive as JSON lines on stdin and each answer
leaves as one JSON line on the protocol pipe; whatever the function prints goes to stdout and
stderr, the environment's log.

Standard library only: this file runs under the function's runtime version, not the emulator's.
The ``REHEARSAL_*`` variables are the emulator's and are removed before the function's code runs.
"""

import importlib
import json
import os
import sys
import time
import traceback

OWN = {
    key: os.environ.pop(key)
    for key in ("REHEARSAL_PROTOCOL_FD", "REHEARSAL_OPT", "REHEARSAL_RUNTIME_SDK", "REHEARSAL_ARN")
}


class Context:
    """The parts of Lambda's context object that functions and Powertools read."""

    def __init__(self, request_id, deadline_ms):
        self.aws_request_id = request_id
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.invoked_function_arn = OWN["REHEARSAL_ARN"]
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))


def _error(kind, message, stack=None):
    return {"errorType": kind, "errorMessage": message, "stackTrace": stack or []}


def _python_path():
    """Lambda's order: the function's code, the layers' site-packages and python/, the SDK."""
    version = "python{}.{}".format(*sys.version_info[:2])
    opt = OWN["REHEARSAL_OPT"]
    return [
        os.environ["LAMBDA_TASK_ROOT"],
        os.path.join(opt, "python", "lib", version, "site-packages"),
        os.path.join(opt, "python"),
        OWN["REHEARSAL_RUNTIME_SDK"],
    ]


class CrashAfter:
    """Fault injection: end the process right after the n-th successful call of an operation
    (``"<service>.<Operation>:<n>"``) in one invocation, as a crash mid-batch would."""

    def __init__(self):
        self.operation = None
        self.remaining = 0

    def arm(self, spec):
        self.operation, self.remaining = None, 0
        if spec:
            self.operation, _, count = spec.rpartition(":")
            self.remaining = int(count)

    def install(self):
        from botocore.client import BaseClient

        original = BaseClient._make_api_call
        crash = self

        def _make_api_call(client, operation_name, api_params):
            result = original(client, operation_name, api_params)
            name = f"{client.meta.service_model.service_name}.{operation_name}"
            if crash.operation == name:
                crash.remaining -= 1
                if crash.remaining <= 0:
                    sys.stderr.write(f"REHEARSAL FAULT: the process exits after {name}\n")
                    sys.stderr.flush()
                    os._exit(137)
            return result

        BaseClient._make_api_call = _make_api_call


def _load_handler():
    """The init phase: the handler function, or the error every invocation then reports."""
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        return None, _error(
            "Runtime.ImportModuleError",
            f"Unable to import module '{module_name}': {error}",
            traceback.format_exc().splitlines(),
        )
    except SyntaxError as error:
        return None, _error(
            "Runtime.UserCodeSyntaxError", str(error), traceback.format_exc().splitlines()
        )
    except Exception as error:
        return None, _error(type(error).__name__, str(error), traceback.format_exc().splitlines())
    handler = getattr(module, function_name, None)
    if handler is None:
        return None, _error(
            "Runtime.HandlerNotFound",
            f"Handler '{function_name}' missing on module '{module_name}'",
        )
    return handler, None


def _answer(request_id, handler, event, context):
    try:
        result = handler(event, context)
    except Exception as error:
        sys.stderr.write(traceback.format_exc())
        failure = _error(type(error).__name__, str(error), traceback.format_exc().splitlines())
        return json.dumps({"id": request_id, "error": failure})
    try:
        return json.dumps({"id": request_id, "result": result})
    except (TypeError, ValueError) as error:
        failure = _error("Runtime.MarshalError", f"Unable to marshal response: {error}")
        return json.dumps({"id": request_id, "error": failure})


def main():
    sys.path[:0] = _python_path()
    protocol = os.fdopen(int(OWN["REHEARSAL_PROTOCOL_FD"]), "w", 1, encoding="utf-8")
    crash = CrashAfter()
    crash.install()
    handler, init_error = _load_handler()
    if init_error is not None:
        sys.stderr.write(f"INIT_REPORT {json.dumps(init_error)}\n")
        sys.stderr.flush()
    for line in sys.stdin:
        request = json.loads(line)
        if init_error is not None:
            protocol.write(json.dumps({"id": request["id"], "error": init_error}) + "\n")
            return  # Lambda runs the init again in a fresh environment
        crash.arm(request.get("crash_after"))
        context = Context(request["id"], request["deadline_ms"])
        sys.stderr.write("START RequestId: {}\n".format(request["id"]))
        sys.stderr.flush()
        text = _answer(request["id"], handler, request["event"], context)
        sys.stdout.flush()
        sys.stderr.write("END RequestId: {}\n".format(request["id"]))
        sys.stderr.flush()
        protocol.write(text + "\n")


if __name__ == "__main__":
    main()
