# expect: line 3 | raised SystemExit: not today
from inferstack.spec import Accelerator, Artifact, ModelSpec, Monitoring, Scaling
raise SystemExit('not today')
