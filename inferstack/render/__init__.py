"""Pure rendering: Blueprint -> Kubernetes manifests, IAM policy documents and add-on values, as plain dicts.

No Pulumi import here; components pass these dicts to Pulumi resources, tests
validate them against the kserve SDK models and Kubernetes OpenAPI schemas.
"""
