"""Code that runs in AWS Lambda for the data path: the dispatcher and the recorder.

Plain Python on the Lambda runtime: the standard library, boto3 and aws_lambda_powertools (from
its public layer), nothing else, and relative imports only, because the asset is this folder's
parent with everything but ``runtime/`` excluded (handlers ``runtime.dispatcher.handler`` and
``runtime.recorder.handler``). ``jobs`` holds what the Lambdas and the client share.
"""
