"""S3 Intelligent-Tiering archive configurations (PutBucketIntelligentTieringConfiguration, one call each).

The whole set is managed: a configuration S3 holds that the spec does not name is deleted, and one that
differs is put again. Configurations are compared by id, in one canonical shape (`_canonical`) for the
spec's and S3's alike.
"""

from __future__ import annotations

from typing import Any

from controller.api.bucket import Bucket
from controller.kinds.base import RefResolver
from controller.kinds.bucket_parts import BucketPart


def _filter(prefix: str | None, tags: list[dict[str, str]]) -> dict[str, Any] | None:
    """A filter holds one Prefix, one Tag, or And for more than one condition
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_IntelligentTieringFilter.html); an empty prefix
    matches every key, so it is no condition, and no condition is no filter."""
    conditions: dict[str, Any] = {}
    if prefix:
        conditions["Prefix"] = prefix
    if tags:
        conditions["Tags"] = sorted(tags, key=lambda tag: tag["Key"])
    if not conditions:
        return None
    if len(conditions) > 1 or len(tags) > 1:
        return {"And": conditions}
    return {"Prefix": prefix} if prefix else {"Tag": tags[0]}


def _canonical(config: dict[str, Any]) -> dict[str, Any]:
    """One configuration in the wire shape, its filter in its one spelling and its tierings in tier order."""
    found = config.get("Filter", {})
    conditions = found.get("And", found)
    tags = [*conditions.get("Tags", ()), *([found["Tag"]] if "Tag" in found else ())]
    shape: dict[str, Any] = {
        "Id": config["Id"], "Status": config["Status"],
        "Tierings": sorted(({"Days": t["Days"], "AccessTier": t["AccessTier"]} for t in config["Tierings"]),
                           key=lambda tiering: tiering["AccessTier"]),
    }
    aws_filter = _filter(conditions.get("Prefix"), tags)
    if aws_filter is not None:
        shape["Filter"] = aws_filter
    return shape


def _render(resource: Bucket, refs: RefResolver) -> list[dict[str, Any]] | None:
    configs = resource.spec.intelligent_tiering_configurations
    if configs is None:
        return None
    return sorted((_canonical({
        "Id": config.id, "Status": "Enabled" if config.enabled else "Disabled",
        "Filter": {"And": {"Prefix": config.prefix,
                           "Tags": [{"Key": key, "Value": value} for key, value in (config.tags or {}).items()]}},
        "Tierings": [{"Days": tiering.days, "AccessTier": tiering.access_tier} for tiering in config.tierings],
    }) for config in configs), key=lambda config: config["Id"])


async def _read(s3: Any, name: str) -> list[dict[str, Any]]:
    configs: list[dict[str, Any]] = []
    token: dict[str, str] = {}
    while True:
        page = await s3.list_bucket_intelligent_tiering_configurations(Bucket=name, **token)
        configs += page.get("IntelligentTieringConfigurationList", [])
        if not page.get("IsTruncated") or not page.get("NextContinuationToken"):
            return sorted((_canonical(config) for config in configs), key=lambda config: config["Id"])
        token = {"ContinuationToken": page["NextContinuationToken"]}


async def _write(s3: Any, name: str, configs: list[dict[str, Any]]) -> None:
    held = {config["Id"]: config for config in await _read(s3, name)}
    # Deletions first: a bucket holds at most 1,000 configurations.
    for stale in held.keys() - {config["Id"] for config in configs}:
        await s3.delete_bucket_intelligent_tiering_configuration(Bucket=name, Id=stale)
    for config in configs:
        if held.get(config["Id"]) != config:
            await s3.put_bucket_intelligent_tiering_configuration(Bucket=name, Id=config["Id"],
                                                                  IntelligentTieringConfiguration=config)


# List is authorised by s3:GetIntelligentTieringConfiguration, Delete by s3:PutIntelligentTieringConfiguration.
PART = BucketPart("intelligentTieringConfigurations", _render, _read, _write,
                  ("s3:GetIntelligentTieringConfiguration", "s3:PutIntelligentTieringConfiguration"))
