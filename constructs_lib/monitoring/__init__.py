"""Dashboard and alarms of an endpoint: ``AsyncEndpointMonitoring`` (construct), alarms,
dashboard, console links, and the pure ``MonitoringSettings``/``AlarmThreshold`` (settings).

Import the public names from ``constructs_lib``; the modules here are its parts.
"""
