# expect: line 3, team | required field is missing
from inferstack.spec import Accelerator, Artifact, ModelSpec, Monitoring, Scaling
spec = ModelSpec.model_construct(name='py-model')
