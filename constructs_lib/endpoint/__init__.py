"""The asynchronous endpoint, the project's main component: ``AsyncEndpoint`` (construct),
``IAsyncEndpoint``/``ImportedAsyncEndpoint`` (base), its encrypted S3 paths (storage), SNS topics
(notifications), keys and the e-mail checks of its subscriptions.

Import the public names from ``constructs_lib``; the modules here are its parts.
"""
