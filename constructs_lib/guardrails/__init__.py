"""Organization guardrails (permissions boundary, role path and name prefix, tags) as an
aspect (aspects) with pure settings (settings).

Import the public names from ``constructs_lib``; the modules here are its parts.
"""
