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

from typing import TYPE_CHECKING

from constructs_lib._exports import lazy_exports

if TYPE_CHECKING:
    from constructs_lib._validation import ConfigurationError
    from constructs_lib.endpoint.base import (
        AsyncEndpointBase,
        IAsyncEndpoint,
        ImportedAsyncEndpoint,
    )
    from constructs_lib.endpoint.construct import AsyncEndpoint
    from constructs_lib.endpoint.deployment_settings import DeploymentSettings
    from constructs_lib.endpoint.notifications import AsyncNotifications, EncryptedTopic
    from constructs_lib.endpoint.storage import AsyncInferenceStorage
    from constructs_lib.guardrails.aspects import OrgGuardrails, apply_org_guardrails
    from constructs_lib.hosting.data_capture import EndpointDataCapture
    from constructs_lib.hosting.data_capture_settings import DataCaptureSettings
    from constructs_lib.model.construct import HuggingFaceModel
    from constructs_lib.model.dlc_catalog import DlcVersion
    from constructs_lib.model.source import ModelSource
    from constructs_lib.monitoring.alarms import AsyncEndpointAlarms
    from constructs_lib.monitoring.construct import AsyncEndpointMonitoring
    from constructs_lib.monitoring.dashboard import AsyncEndpointDashboard
    from constructs_lib.monitoring.settings import AlarmThreshold, MonitoringSettings
    from constructs_lib.scaling.construct import AsyncEndpointScaling
    from constructs_lib.scaling.settings import ScalingSettings, ScheduledCapacity

# Exports load on first use: the settings modules (scaling, monitoring, guardrails, the data
# path's) and the Lambda runtime's job contract are pure Python, and the app's configuration
# loader and the tools in ``summarizer/`` import them without starting the CDK's Node process.
_EXPORTS = {
    "AsyncEndpoint": "endpoint.construct",
    "AsyncEndpointBase": "endpoint.base",
    "IAsyncEndpoint": "endpoint.base",
    "ImportedAsyncEndpoint": "endpoint.base",
    "OrgGuardrails": "guardrails.aspects",
    "apply_org_guardrails": "guardrails.aspects",
    "AsyncEndpointMonitoring": "monitoring.construct",
    "AsyncEndpointAlarms": "monitoring.alarms",
    "AsyncEndpointDashboard": "monitoring.dashboard",
    "AlarmThreshold": "monitoring.settings",
    "AsyncEndpointScaling": "scaling.construct",
    "AsyncInferenceStorage": "endpoint.storage",
    "AsyncNotifications": "endpoint.notifications",
    "ConfigurationError": "_validation",
    "DataCaptureSettings": "hosting.data_capture_settings",
    "DeploymentSettings": "endpoint.deployment_settings",
    "DlcVersion": "model.dlc_catalog",
    "EndpointDataCapture": "hosting.data_capture",
    "EncryptedTopic": "endpoint.notifications",
    "HuggingFaceModel": "model.construct",
    "ModelSource": "model.source",
    "MonitoringSettings": "monitoring.settings",
    "ScalingSettings": "scaling.settings",
    "ScheduledCapacity": "scaling.settings",
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
    "ModelSource",
    "MonitoringSettings",
    "OrgGuardrails",
    "ScalingSettings",
    "ScheduledCapacity",
    "apply_org_guardrails",
]

__getattr__ = lazy_exports(__name__, _EXPORTS)
