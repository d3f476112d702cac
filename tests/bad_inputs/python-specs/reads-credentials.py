# expect: line 4 | AWS_SECRET_ACCESS_KEY=None
from inferstack.spec import Accelerator, Artifact, ModelSpec, Monitoring, Scaling
import os
raise RuntimeError('AWS_SECRET_ACCESS_KEY=' + str(os.environ.get('AWS_SECRET_ACCESS_KEY')))
