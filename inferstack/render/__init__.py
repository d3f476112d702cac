"""Pure rendering: Blueprint -> Kubernetes manifests, IAM policy documents and add-on values, as plain dicts.

No Pulumi import here; components pass these dicts to Pulumi resources, tests
validate them against the kserve SDK models and Kubernetes OpenAPI schemas.
"""

from inferstack.render.bare_packages import register_bare_package

# The render modules build objects from `kubernetes.client` models only; the package's own
# __init__ would also load its kubeconfig, dynamic-client and watch machinery (~0.2 s).
register_bare_package("kubernetes")
