# expect: line 3 | the module raised RuntimeError: boom
from inferstack.spec import Accelerator, Artifact, ModelSpec, Monitoring, Scaling
raise RuntimeError('boom')
