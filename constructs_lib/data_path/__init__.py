"""The data path: documents uploaded to S3 are grouped, summarized and recorded as jobs."""
