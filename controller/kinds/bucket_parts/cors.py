"""Cross-origin resource sharing (PutBucketCors); an empty list deletes the configuration."""

from __future__ import annotations

from typing import Any

from controller.api.bucket import Bucket
from controller.kinds.base import RefResolver
from controller.kinds.bucket_parts import BucketPart, missing_is

_LISTS = ("AllowedHeaders", "AllowedMethods", "AllowedOrigins", "ExposeHeaders")


def _canonical(rule: dict[str, Any]) -> dict[str, Any]:
    """A rule as the spec writes it and as S3 reports it alike: an empty ID or list is none at all, which
    is how S3 keeps it. The order of rules and of their values is kept: S3 keeps it, and the first
    matching rule applies."""
    shape = {key: rule[key] for key in _LISTS if rule.get(key)}
    if rule.get("ID"):
        shape["ID"] = rule["ID"]
    if rule.get("MaxAgeSeconds") is not None:
        shape["MaxAgeSeconds"] = rule["MaxAgeSeconds"]
    return shape


def _render(resource: Bucket, refs: RefResolver) -> list[dict[str, Any]] | None:
    rules = resource.spec.cors
    if rules is None:
        return None
    return [_canonical({"ID": rule.id, "AllowedMethods": rule.allowed_methods, "AllowedOrigins": rule.allowed_origins,
                        "AllowedHeaders": rule.allowed_headers, "ExposeHeaders": rule.expose_headers,
                        "MaxAgeSeconds": rule.max_age_seconds}) for rule in rules]


async def _read(s3: Any, name: str) -> list[dict[str, Any]]:
    response = await missing_is({}, s3.get_bucket_cors(Bucket=name), {"NoSuchCORSConfiguration"})
    return [_canonical(rule) for rule in response.get("CORSRules", [])]


async def _write(s3: Any, name: str, rules: list[dict[str, Any]]) -> None:
    if rules:
        await s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
    else:
        await s3.delete_bucket_cors(Bucket=name)


# DeleteBucketCors is authorised by s3:PutBucketCORS.
PART = BucketPart("cors", _render, _read, _write, ("s3:GetBucketCORS", "s3:PutBucketCORS"))
