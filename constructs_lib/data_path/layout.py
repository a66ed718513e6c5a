"""The data path's prefixes in the data bucket (the data path contract's S3 layout).

``inputs/``, ``results/`` and ``failures/`` belong to the storage construct; these are added by
the data path. ``requests/`` holds request bodies (grouped by the dispatcher, or a direct
caller's) and is not watched; ``curated/summaries/dt=YYYY-MM-DD/`` is the queryable dataset.
"""

REQUEST_PREFIX = "requests/"
CURATED_PREFIX = "curated/"
DATASET_PREFIX = "curated/summaries/"
ATHENA_RESULTS_PREFIX = "athena-results/"
