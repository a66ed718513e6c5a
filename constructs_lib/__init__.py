"""Reusable CDK constructs for Hugging Face models on SageMaker asynchronous inference.

``AsyncInferenceStorage`` and ``AsyncNotifications`` make the encrypted S3 paths and SNS topics;
``HuggingFaceModel`` the model on the Hugging Face DLC; ``AsyncEndpoint`` the endpoint that ties
them together (``DeploymentSettings``: guardrails on its updates); ``AsyncEndpointScaling``
scales it to and from zero; ``AsyncEndpointMonitoring`` adds its dashboard and alarms (also
apart: ``AsyncEndpointDashboard``, ``AsyncEndpointAlarms`` with one ``AlarmThreshold`` per
alarm). ``EndpointDataCapture`` (``DataCaptureSettings``) samples a real-time endpoint's requests
and responses into S3. Invalid properties raise ``ConfigurationError`` listing every problem.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._validation import ConfigurationError
    from .data_capture import EndpointDataCapture
    from .data_capture_settings import DataCaptureSettings
    from .deployment_settings import DeploymentSettings
    from .dlc_catalog import DlcVersion
    from .endpoint import AsyncEndpoint
    from .endpoint_base import AsyncEndpointBase, IAsyncEndpoint, ImportedAsyncEndpoint
    from .guardrails import OrgGuardrails, apply_org_guardrails
    from .model import HuggingFaceModel
    from .monitoring import AsyncEndpointMonitoring
    from .monitoring_alarms import AsyncEndpointAlarms
    from .monitoring_dashboard import AsyncEndpointDashboard
    from .monitoring_settings import AlarmThreshold, MonitoringSettings
    from .notifications import AsyncNotifications, EncryptedTopic
    from .scaling import AsyncEndpointScaling
    from .scaling_settings import ScalingSettings, ScheduledCapacity
    from .storage import AsyncInferenceStorage

# Exports load on first use, so `python -m constructs_lib.capacity_planner` (pure Python) does not
# start the CDK's Node process.
_EXPORTS = {
    "AsyncEndpoint": "endpoint",
    "AsyncEndpointBase": "endpoint_base",
    "IAsyncEndpoint": "endpoint_base",
    "ImportedAsyncEndpoint": "endpoint_base",
    "OrgGuardrails": "guardrails",
    "apply_org_guardrails": "guardrails",
    "AsyncEndpointMonitoring": "monitoring",
    "AsyncEndpointAlarms": "monitoring_alarms",
    "AsyncEndpointDashboard": "monitoring_dashboard",
    "AlarmThreshold": "monitoring_settings",
    "AsyncEndpointScaling": "scaling",
    "AsyncInferenceStorage": "storage",
    "AsyncNotifications": "notifications",
    "ConfigurationError": "_validation",
    "DataCaptureSettings": "data_capture_settings",
    "DeploymentSettings": "deployment_settings",
    "DlcVersion": "dlc_catalog",
    "EndpointDataCapture": "data_capture",
    "EncryptedTopic": "notifications",
    "HuggingFaceModel": "model",
    "MonitoringSettings": "monitoring_settings",
    "ScalingSettings": "scaling_settings",
    "ScheduledCapacity": "scaling_settings",
}
__all__ = [
    "AlarmThreshold",
    "AsyncEndpoint",
    "AsyncEndpointAlarms",
    "AsyncEndpointBase",
    "AsyncEndpointDashboard",
    "AsyncEndpointMonitoring",
    "AsyncEndpointScaling",
    "AsyncInferenceStorage",
    "AsyncNotifications",
    "ConfigurationError",
    "DataCaptureSettings",
    "DeploymentSettings",
    "DlcVersion",
    "EncryptedTopic",
    "EndpointDataCapture",
    "HuggingFaceModel",
    "IAsyncEndpoint",
    "ImportedAsyncEndpoint",
    "MonitoringSettings",
    "OrgGuardrails",
    "ScalingSettings",
    "ScheduledCapacity",
    "apply_org_guardrails",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
