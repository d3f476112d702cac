# expect: (top level) | did not finish loading within
from inferstack.spec import Accelerator, Artifact, ModelSpec, Monitoring, Scaling
while True:
    pass
