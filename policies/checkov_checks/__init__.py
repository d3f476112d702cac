"""checkov custom checks for KServe InferenceService manifests (loaded with --external-checks-dir)."""
