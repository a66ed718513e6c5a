"""The capacity planner: the search (``search``) and its command line (``cli``)."""
