"""The data path's prefixes in the data bucket (the data path contract's S3 layout).

``inputs/``, ``results/`` and ``failures/`` belong to the storage construct; these are added by
the data path. ``requests/`` holds request bodies and is not watched: the dispatcher's grouped
requests at ``requests/<inference id>.jsonl``, which only it may write (the recorder trusts the
job ids they name), and direct callers' under ``requests/direct/``, the only part of it clients
may write. ``curated/summaries/dt=YYYY-MM-DD/`` is the queryable dataset.
"""

REQUEST_PREFIX = "requests/"
DIRECT_REQUEST_PREFIX = f"{REQUEST_PREFIX}direct/"
CURATED_PREFIX = "curated/"
DATASET_PREFIX = "curated/summaries/"
ATHENA_RESULTS_PREFIX = "athena-results/"
