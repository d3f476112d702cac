# expect: (top level) | ended the loader process
from inferstack.spec import Accelerator, Artifact, ModelSpec, Monitoring, Scaling
import os
os._exit(0)
