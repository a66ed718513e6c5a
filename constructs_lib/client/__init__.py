"""Clients of a deployed summarizer (boto3 only; nothing here imports aws_cdk)."""
