"""Pulumi ComponentResources that render a Blueprint into AWS and Kubernetes resources (one concept per module)."""
