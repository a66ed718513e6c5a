"""Tools around the deployed summarizer, pure Python and without the CDK.

- ``summarizer.client``: the ``summarizer`` command and its API (submit, wait, get, retry).
- ``summarizer.simulator``: replays traffic against the scaling rules
  (``python -m summarizer.simulator``).
- ``summarizer.planner``: searches the cheapest capacity that meets a goal
  (``python -m summarizer.planner``).

They read an environment's configuration through the app's one loader (``stacks.config``).
"""
