"""Replication (PutBucketReplication; DeleteBucketReplication for `rules: []`) to Bucket specs by reference
or to buckets by ARN.

Rules are rendered in S3's V2 shape (Filter, Priority, DeleteMarkerReplication), which S3 requires of a
configuration with more than one rule and reports for any rule written with a filter. The read keeps the
members a spec manages: one set by other means (replication time control, metrics, replica encryption)
is not compared, and a write from the spec replaces it.
"""

from __future__ import annotations

from typing import Any

from controller.api.bucket import Bucket
from controller.kinds.base import RefResolver
from controller.kinds.bucket_parts import BucketPart, missing_is
from controller.kinds.bucket_parts.filters import key_filter, observed_filter

_STATUS = {True: "Enabled", False: "Disabled"}
_DESTINATION = ("Bucket", "Account", "StorageClass")


def _render(resource: Bucket, refs: RefResolver) -> dict[str, Any] | None:
    replication = resource.spec.replication
    if replication is None:
        return None
    if not replication.rules:
        return {"rules": []}  # no configuration: as a bucket without one reads
    rules = []
    for rule, priority in zip(replication.rules, replication.priorities(), strict=True):
        given = rule.destination
        bucket = refs.output(given.bucket_ref, "arn") if given.bucket_ref is not None else given.bucket
        destination = {key: value for key, value in (
            ("Bucket", bucket), ("Account", given.account), ("StorageClass", given.storage_class)) if value is not None}
        tags = [{"Key": key, "Value": value} for key, value in (rule.tags or {}).items()]
        rules.append({
            "ID": rule.id, "Priority": priority, "Status": _STATUS[rule.enabled],
            "Filter": key_filter(rule.prefix, tags, None, None), "Destination": destination,
            "DeleteMarkerReplication": {"Status": _STATUS[rule.delete_marker_replication]},
        })
    return {"role": replication.role, "rules": sorted(rules, key=lambda aws: aws["ID"])}


def _observed_rule(aws: dict[str, Any]) -> dict[str, Any]:
    destination = aws.get("Destination", {})
    return {
        "ID": aws.get("ID", ""),
        "Priority": aws.get("Priority", 0),  # a V1 rule has none: it reads as drift, and is written in V2
        "Status": aws["Status"],
        # A V1 rule (no Filter) has a Prefix of its own.
        "Filter": observed_filter(aws["Filter"] if "Filter" in aws else {"Prefix": aws.get("Prefix", "")}),
        "Destination": {key: destination[key] for key in _DESTINATION if key in destination},
        "DeleteMarkerReplication": {"Status": aws.get("DeleteMarkerReplication", {}).get("Status", "Disabled")},
    }


async def _read(s3: Any, name: str) -> dict[str, Any]:
    response = await missing_is(None, s3.get_bucket_replication(Bucket=name),
                                {"ReplicationConfigurationNotFoundError"})
    if response is None:
        return {"rules": []}
    configuration = response["ReplicationConfiguration"]
    rules = [_observed_rule(rule) for rule in configuration.get("Rules", [])]
    return {"role": configuration["Role"], "rules": sorted(rules, key=lambda aws: aws["ID"])}


async def _write(s3: Any, name: str, replication: dict[str, Any]) -> None:
    if not replication["rules"]:
        await s3.delete_bucket_replication(Bucket=name)
        return
    # S3 checks iam:PassRole on the role for this call (granted to s3.amazonaws.com only: kinds/bucket.py).
    await s3.put_bucket_replication(Bucket=name, ReplicationConfiguration={
        "Role": replication["role"], "Rules": replication["rules"]})


# DeleteBucketReplication is authorised as s3:PutReplicationConfiguration.
PART = BucketPart("replication", _render, _read, _write,
                  ("s3:GetReplicationConfiguration", "s3:PutReplicationConfiguration"))
