"""Deploy scripts: the same code deploys wifivip to an AWS account or to the local emulator."""
