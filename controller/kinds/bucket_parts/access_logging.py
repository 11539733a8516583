"""Server access logging (PutBucketLogging) to a referenced Bucket spec or a bucket by name."""

from __future__ import annotations

from typing import Any

from controller.api.bucket import Bucket
from controller.kinds.base import RefResolver
from controller.kinds.bucket_parts import BucketPart
from controller.kinds.diff import ABSENT


def _render(resource: Bucket, refs: RefResolver) -> dict[str, Any] | None:
    logging = resource.spec.logging
    if logging is None:
        return None
    ref = logging.target_bucket_ref
    target = refs.output(ref, "name") if ref is not None else logging.target_bucket
    return {"targetBucket": target, "targetPrefix": logging.target_prefix}


async def _read(s3: Any, name: str) -> Any:
    enabled = (await s3.get_bucket_logging(Bucket=name)).get("LoggingEnabled")
    if enabled is None:
        return ABSENT
    return {"targetBucket": enabled["TargetBucket"], "targetPrefix": enabled.get("TargetPrefix", "")}


async def _write(s3: Any, name: str, logging: dict[str, str]) -> None:
    # S3 refuses (InvalidTargetBucketForLogging) until the target's policy lets the logging service
    # write; the target, a referenced Bucket, is reconciled first, and the error is retried.
    enabled = {"TargetBucket": logging["targetBucket"], "TargetPrefix": logging["targetPrefix"]}
    await s3.put_bucket_logging(Bucket=name, BucketLoggingStatus={"LoggingEnabled": enabled})


PART = BucketPart("logging", _render, _read, _write, ("s3:GetBucketLogging", "s3:PutBucketLogging"))
