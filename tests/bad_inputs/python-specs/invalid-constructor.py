# expect: line 3, Scaling.min_replicas | min_replicas 3 is above max_replicas 1
from inferstack.spec import Accelerator, Artifact, ModelSpec, Monitoring, Scaling
scaling = Scaling(min_replicas=3, max_replicas=1)
