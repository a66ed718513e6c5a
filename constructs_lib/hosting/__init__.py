"""Every SageMaker hosting option of the source material, as constructs.

- ``RealtimeEndpoint`` + ``RealtimeScaling``: synchronous, always-on instances, the autoscaling
  article's policies; ``sizing`` derives their target and bounds from a benchmark.
- ``InferenceComponentEndpoint``: synchronous, models as inference components
  (``InferenceComponentSpec``: ``ComputeRequirements`` per copy, ``CopyScaling``), down to zero
  instances when idle and back on the first request (which fails while it wakes).
- ``ServerlessEndpoint``: synchronous, billed per request, zero at idle, CPU only.
- ``MultiModelEndpoint``: many models of one runtime from an S3 prefix, loaded on demand.
- ``MultiContainerModel`` + ``MultiContainerEndpoint``: up to 15 containers, direct or serial.
- ``InferencePipeline``: pre-processing -> model -> post-processing, in series.
- ``BatchTransform``: a Step Functions state machine around a transform job over S3.

The asynchronous option is ``constructs_lib.AsyncEndpoint``. ``docs/hosting.md`` compares them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from constructs_lib._exports import lazy_exports

if TYPE_CHECKING:
    from constructs_lib.hosting.batch_settings import BatchTransformSettings
    from constructs_lib.hosting.batch_transform import BatchTransform
    from constructs_lib.hosting.containers import ContainerSpec, MultiContainerModel
    from constructs_lib.hosting.inference_component_settings import ComputeRequirements, CopyScaling
    from constructs_lib.hosting.inference_components import (
        InferenceComponent,
        InferenceComponentEndpoint,
        InferenceComponentSpec,
    )
    from constructs_lib.hosting.inference_pipeline import InferencePipeline
    from constructs_lib.hosting.multi_container import MultiContainerEndpoint
    from constructs_lib.hosting.multi_model import MultiModelEndpoint
    from constructs_lib.hosting.realtime import RealtimeEndpoint
    from constructs_lib.hosting.realtime_scaling import RealtimeScaling
    from constructs_lib.hosting.realtime_settings import (
        BlueGreenDeployment,
        RealtimeScalingSettings,
        StepAdjustment,
    )
    from constructs_lib.hosting.serverless import ServerlessEndpoint

# Loaded on first use: the settings modules and `sizing` are pure Python, which the app's
# configuration loader imports without starting the CDK's Node process.
_EXPORTS = {
    "BatchTransform": "batch_transform",
    "BatchTransformSettings": "batch_settings",
    "BlueGreenDeployment": "realtime_settings",
    "ComputeRequirements": "inference_component_settings",
    "ContainerSpec": "containers",
    "CopyScaling": "inference_component_settings",
    "InferenceComponent": "inference_components",
    "InferenceComponentEndpoint": "inference_components",
    "InferenceComponentSpec": "inference_components",
    "InferencePipeline": "inference_pipeline",
    "MultiContainerEndpoint": "multi_container",
    "MultiContainerModel": "containers",
    "MultiModelEndpoint": "multi_model",
    "RealtimeEndpoint": "realtime",
    "RealtimeScaling": "realtime_scaling",
    "RealtimeScalingSettings": "realtime_settings",
    "ServerlessEndpoint": "serverless",
    "StepAdjustment": "realtime_settings",
}
__all__ = [
    "BatchTransform",
    "BatchTransformSettings",
    "BlueGreenDeployment",
    "ComputeRequirements",
    "ContainerSpec",
    "CopyScaling",
    "InferenceComponent",
    "InferenceComponentEndpoint",
    "InferenceComponentSpec",
    "InferencePipeline",
    "MultiContainerEndpoint",
    "MultiContainerModel",
    "MultiModelEndpoint",
    "RealtimeEndpoint",
    "RealtimeScaling",
    "RealtimeScalingSettings",
    "ServerlessEndpoint",
    "StepAdjustment",
]

__getattr__ = lazy_exports(__name__, _EXPORTS)
