"""Scaling an endpoint to and from zero: ``AsyncEndpointScaling`` (construct) and its pure
``ScalingSettings``/``ScheduledCapacity`` (settings).

Import the public names from ``constructs_lib``; the modules here are its parts.
"""
