"""Tests of the deploy rehearsal (they run in .venv-rehearsal: make test-rehearsal)."""
