"""Object ownership (PutBucketOwnershipControls); BucketOwnerEnforced disables ACLs."""

from __future__ import annotations

from typing import Any

from controller.api.bucket import Bucket
from controller.kinds.base import RefResolver
from controller.kinds.bucket_parts import BucketPart, missing_is
from controller.kinds.diff import ABSENT


def _render(resource: Bucket, refs: RefResolver) -> str | None:
    return resource.spec.ownership_controls


async def _read(s3: Any, name: str) -> Any:
    response = await missing_is(None, s3.get_bucket_ownership_controls(Bucket=name), {"OwnershipControlsNotFoundError"})
    return ABSENT if response is None else response["OwnershipControls"]["Rules"][0]["ObjectOwnership"]


async def _write(s3: Any, name: str, ownership: str) -> None:
    await s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": ownership}]})


PART = BucketPart("ownershipControls", _render, _read, _write,
                  ("s3:GetBucketOwnershipControls", "s3:PutBucketOwnershipControls"))
