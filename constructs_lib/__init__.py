"""Reusable CDK constructs for Hugging Face models on SageMaker asynchronous inference.

``AsyncInferenceStorage`` and ``AsyncNotifications`` make the encrypted S3 paths and SNS topics;
``HuggingFaceModel`` the model on the Hugging Face DLC; ``AsyncEndpoint`` the endpoint that ties
them together; ``AsyncEndpointScaling`` scales it to and from zero; ``AsyncEndpointMonitoring``
adds its dashboard and alarms. Invalid properties raise ``ConfigurationError`` listing every
problem.
"""
