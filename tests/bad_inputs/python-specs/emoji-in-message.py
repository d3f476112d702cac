# expect: line 3 | :fire:
from inferstack.spec import Accelerator, Artifact, ModelSpec, Monitoring, Scaling
raise RuntimeError(':fire: [bold]boom[/bold]')
