"""Model architectures and the activation functions the study compares."""
