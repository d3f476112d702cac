"""The model registry: versions, approvals and snapshots in the environments' S3 model stores.

- records.py: the key layout and the stored JSON records.
- store.py: publish, promote and list against one store (boto3).
- snapshot.py: the offline snapshot the plan reads.
"""

from typing import TYPE_CHECKING, Any

from inferstack.registry.records import ApprovalRecord, UnusableVersion, VersionEntry, VersionMetadata
from inferstack.registry.snapshot import RegistrySnapshot, SnapshotVersion, load_registry_snapshot, take_snapshot

if TYPE_CHECKING:
    from inferstack.registry.store import ModelRegistry, PromotionRefused, RegistryError, promote

_FROM_STORE = ("ModelRegistry", "PromotionRefused", "RegistryError", "promote")


def __getattr__(name: str) -> Any:
    """The store's names load on first use: it needs the `registry` extra (boto3), a snapshot does not."""
    if name in _FROM_STORE:
        from inferstack.registry import store

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

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
