# expect: line 4 | called sys.exit(3)
from inferstack.spec import Accelerator, Artifact, ModelSpec, Monitoring, Scaling
import sys
sys.exit(3)
