"""The inferstack CrossGuard policy pack: `pulumi up --policy-pack policies` (or `pulumi preview --policy-pack policies`).

Every policy wraps a rule function from inferstack.policy, the same functions the
offline plan evaluates; see README.md for how the pack finds its environment,
thresholds and cost figures.
"""

from __future__ import annotations

import sys
from pathlib import Path

PACK_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACK_DIR.parent
# Inside the repository, this checkout's inferstack (and its stacks/); a published pack imports the installed
# inferstack its requirements.txt declares, and finds stack files through INFERSTACK_STACKS_DIR.
if (REPO_ROOT / "inferstack").is_dir() and str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from inferstack.policy.crossguard import PackContext, build_policies  # noqa: E402
from inferstack.problems import InputError  # noqa: E402

PACK_CONTEXT = PackContext.from_process(default_stacks_dir=REPO_ROOT / "stacks")
try:
    POLICIES = build_policies(PACK_CONTEXT)
except InputError as error:  # a broken stack file: one line per problem, no traceback
    print(str(error), file=sys.stderr)
    raise SystemExit(2) from None

if __name__ == "__main__":
    PolicyPack(name="inferstack", policies=POLICIES, enforcement_level=EnforcementLevel.ADVISORY)
