"""The deploy rehearsal: the real CDK CLI deploys the real stack into a local AWS emulator."""
