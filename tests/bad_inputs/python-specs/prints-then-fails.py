# expect: line 4 | the module raised ValueError
from inferstack.spec import Accelerator, Artifact, ModelSpec, Monitoring, Scaling
print('noise on stdout')
raise ValueError('x')
