"""Transfer acceleration (PutBucketAccelerateConfiguration): true Enabled, false Suspended."""

from __future__ import annotations

from typing import Any

from controller.api.bucket import Bucket
from controller.kinds.base import RefResolver
from controller.kinds.bucket_parts import BucketPart


def _render(resource: Bucket, refs: RefResolver) -> bool | None:
    return resource.spec.transfer_acceleration


async def _read(s3: Any, name: str) -> bool:
    # A bucket never configured reports no Status: not accelerated, as Suspended is.
    return bool((await s3.get_bucket_accelerate_configuration(Bucket=name)).get("Status") == "Enabled")


async def _write(s3: Any, name: str, enabled: bool) -> None:
    status = "Enabled" if enabled else "Suspended"
    await s3.put_bucket_accelerate_configuration(Bucket=name, AccelerateConfiguration={"Status": status})


PART = BucketPart("transferAcceleration", _render, _read, _write,
                  ("s3:GetAccelerateConfiguration", "s3:PutAccelerateConfiguration"))
