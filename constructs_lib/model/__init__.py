"""The model: ``HuggingFaceModel`` (construct), where its weights come from (source, s3_uri),
the archive of its inference code, the Hugging Face DLC image and its catalog, instance types.

Import the public names from ``constructs_lib``; the modules here are its parts.
"""
