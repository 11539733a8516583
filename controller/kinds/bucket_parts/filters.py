"""The key filter of a lifecycle or replication rule, in one canonical wire shape (both take Prefix, Tag and
And; lifecycle also object sizes)."""

from __future__ import annotations

from typing import Any


def key_filter(prefix: str | None, tags: list[dict[str, str]], larger: int | None,
               smaller: int | None) -> dict[str, Any]:
    """A rule's filter in one canonical wire shape, for the spec and for what S3 reports alike.

    A filter holds exactly one of Prefix, Tag, ObjectSizeGreaterThan, ObjectSizeLessThan or And, And for
    two or more conditions (https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleRuleFilter.html;
    a replication filter the same without sizes, API_ReplicationRuleFilter.html).
    An empty prefix matches every key, so it is no condition: the rule on the whole bucket is {Prefix: ""}."""
    conditions: dict[str, Any] = {}
    if prefix:
        conditions["Prefix"] = prefix
    if tags:
        conditions["Tags"] = sorted(tags, key=lambda tag: tag["Key"])
    if larger is not None:
        conditions["ObjectSizeGreaterThan"] = larger
    if smaller is not None:
        conditions["ObjectSizeLessThan"] = smaller
    if not conditions:
        return {"Prefix": ""}
    if len(conditions) > 1 or len(tags) > 1:
        return {"And": conditions}
    ((key, value),) = conditions.items()
    return {"Tag": value[0]} if key == "Tags" else {key: value}


def observed_filter(aws: dict[str, Any]) -> dict[str, Any]:
    """What S3 reports, in key_filter's shape: one filter has several spellings (a lone tag inside And, ...)."""
    conditions = aws.get("And", aws)
    tags = [*conditions.get("Tags", ()), *([aws["Tag"]] if "Tag" in aws else ())]
    return key_filter(conditions.get("Prefix"), tags, conditions.get("ObjectSizeGreaterThan"),
                   conditions.get("ObjectSizeLessThan"))
