"""Lambda's execution side and SQS event sources, for the emulator."""
