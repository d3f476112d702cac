"""The model registry: versions, approvals and snapshots in the environments' S3 model stores.

- records.py: the key layout and the stored JSON records.
- store.py: publish, promote and list against one store (boto3).
- snapshot.py: the offline snapshot the plan reads.
"""

from inferstack.registry.records import ApprovalRecord, UnusableVersion, VersionEntry, VersionMetadata
from inferstack.registry.snapshot import RegistrySnapshot, SnapshotVersion, load_registry_snapshot, take_snapshot
from inferstack.registry.store import ModelRegistry, PromotionRefused, RegistryError, promote

__all__ = [
    "ApprovalRecord",
    "ModelRegistry",
    "PromotionRefused",
    "RegistryError",
    "RegistrySnapshot",
    "SnapshotVersion",
    "UnusableVersion",
    "VersionEntry",
    "VersionMetadata",
    "load_registry_snapshot",
    "promote",
    "take_snapshot",
]
