# expect: line 3, scaling | valid dictionary
from inferstack.spec import Accelerator, Artifact, ModelSpec, Monitoring, Scaling
spec = ModelSpec(
    name='py-model', team='demo', owner='demo@example.com', description='A Python spec.',
    artifact=Artifact(format='onnx', version='1.0.0'),
    accelerator=Accelerator(gpu_type='l4', gpus_per_replica=1, gpu_memory_gib=8),
    scaling=Scaling(min_replicas=1, max_replicas=2),
    monitoring=Monitoring(runbook_url='https://runbooks.example.com/x', alert_route='slack:#x'),
)
spec = spec.model_copy(update={'scaling': 'lots'})
