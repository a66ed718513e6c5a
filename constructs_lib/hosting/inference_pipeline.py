"""A serial inference pipeline: pre-processing container(s), the model, post-processing.

At the API this is a ``MultiContainerModel`` in ``Serial`` mode: SageMaker passes each
container's response to the next on the same instance and returns the last one's. What makes it
a pipeline is the role of each container: the steps around the model carry data preparation and
business rules with their own runtimes, so they change without touching the model's container.
The same model also backs a batch transform job. ``docs/hosting.md`` compares it with a
multi-container endpoint in serial mode.
"""

from __future__ import annotations

from collections.abc import Sequence

from constructs import Construct

from constructs_lib._validation import raise_if_problems
from constructs_lib.hosting.containers import MAX_CONTAINERS, ContainerSpec, MultiContainerModel


class InferencePipeline(MultiContainerModel):
    """A ``Serial`` multi-container model: ``pre_processing`` -> ``model`` -> ``post_processing``.

    Serve it with ``RealtimeEndpoint`` or a ``BatchTransform``. ``model_hostname`` is the model
    container's hostname, for metrics.

    Args:
        model: the model's container.
        instance_type: picks the CPU or GPU DLC image.
        pre_processing: containers run before the model, in the order given; at least one
            processing container in all, 15 containers at most. Default: ``()``.
        post_processing: containers run after the model, in the order given. Default: ``()``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: ContainerSpec,
        instance_type: str,
        pre_processing: Sequence[ContainerSpec] = (),
        post_processing: Sequence[ContainerSpec] = (),
    ) -> None:
        steps = [*pre_processing, model, *post_processing]
        if len(steps) < 2 or len(steps) > MAX_CONTAINERS:
            raise_if_problems(
                "InferencePipeline",
                [
                    "pre_processing / post_processing: a pipeline runs the model with 1 to "
                    f"{MAX_CONTAINERS - 1} processing containers around it "
                    f"(got {len(steps) - 1})"
                ],
            )
        super().__init__(
            scope, construct_id, containers=steps, instance_type=instance_type, mode="Serial"
        )
        self.model_hostname = model.hostname
