"""Thin stacks composing the constructs of ``constructs_lib`` from the app configuration."""
