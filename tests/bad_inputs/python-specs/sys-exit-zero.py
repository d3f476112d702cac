# expect: line 4 | called sys.exit(0)
from inferstack.spec import Accelerator, Artifact, ModelSpec, Monitoring, Scaling
import sys
sys.exit(0)
