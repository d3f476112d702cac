"""EC2 instance facts and prices used for right-sizing and cost estimates."""

from inferstack.pricing.catalog import Catalog, InstanceType, load_catalog

__all__ = ["Catalog", "InstanceType", "load_catalog"]
