# expect: line 3 | the module raised KeyboardInterrupt
from inferstack.spec import Accelerator, Artifact, ModelSpec, Monitoring, Scaling
raise KeyboardInterrupt
