"""Fault injection: the emulator's hooks, armed one fault at a time.

Each fault is a named counter: ``arm(name, times)`` makes the next ``times`` occasions fail, and
the code at the hook calls ``take(name)`` (True when it must fail now). The hooks:

* ``endpoint_refuses``: the model server answers a whole request with HTTP 500 (endpoint.py);
* ``invoke_throttled``: ``InvokeEndpointAsync`` answers ThrottlingException (endpoint.py);
* ``lambda_crash:<function>``: the function's process exits right after its next successful
  ``InvokeEndpointAsync`` (mid-batch: part of the batch dispatched; lambdas/bootstrap.py);
* ``sns_delivery_fails``: SNS cannot deliver a message to an SQS subscription (sns.py), and
  retries as SNS does before the message goes to the subscription's dead-letter queue, if any.
"""

from __future__ import annotations

import threading
from collections import Counter

KNOWN = ("endpoint_refuses", "invoke_throttled", "lambda_crash", "sns_delivery_fails")


class Faults:
    def __init__(self) -> None:
        self._armed: Counter[str] = Counter()
        self.fired: Counter[str] = Counter()
        self._lock = threading.Lock()

    def arm(self, name: str, times: int = 1) -> None:
        if name.split(":")[0] not in KNOWN:
            raise ValueError(f"unknown fault {name!r} (known: {', '.join(KNOWN)})")
        with self._lock:
            self._armed[name] += times

    def disarm(self) -> None:
        with self._lock:
            self._armed.clear()

    def take(self, name: str) -> bool:
        with self._lock:
            if self._armed[name] <= 0:
                return False
            self._armed[name] -= 1
            self.fired[name] += 1
            return True

    def crash_after(self, function_name: str) -> str | None:
        """The crash to inject into the function's next invocation (bootstrap.py's format)."""
        if self.take(f"lambda_crash:{function_name}"):
            return "sagemaker-runtime.InvokeEndpointAsync:1"
        return None
