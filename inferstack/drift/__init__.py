"""Drift detection: reference profiles, drift statistics, KServe payload-log parsing and the detector run.

The modules `profile`, `stats`, `layout`, `payloads` and `detector` are pure
(numpy only, no Pulumi, no boto3); `store`, `triggers`, `metrics`, `report`
and `run` do the I/O of `inferstack drift run`.
"""
