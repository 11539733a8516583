"""A bucket's optional sub-resources, one module each (CORS, website, logging, ...).

A `BucketPart` is one S3 sub-resource a spec may manage: how the spec renders it (None: unmanaged, so
never read), how it is read back, and how it is written. `controller/kinds/bucket.py` reads the managed
parts of a bucket concurrently and writes only the parts that drifted. Adding a sub-resource is a module
here and one line in `PARTS` of `bucket.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from controller.api.bucket import Bucket
from controller.aws import code_in
from controller.kinds.base import RefResolver

# The S3 client (aiobotocore's, untyped), the bucket name, and for writes the rendered value.
Reader = Callable[[Any, str], Awaitable[Any]]
Writer = Callable[[Any, str, Any], Awaitable[None]]
Renderer = Callable[[Bucket, RefResolver], Any]


@dataclass(frozen=True)
class BucketPart:
    key: str  # the spec field's name, which is also the key in the rendered state and the plan's path
    render: Renderer  # the desired value in the reader's shape; None when the spec leaves it unmanaged
    read: Reader  # the value S3 holds, or diff.ABSENT when it holds none
    write: Writer  # makes S3 hold the rendered value (an empty value may mean "delete the configuration")
    actions: tuple[str, ...]  # the IAM actions of its calls (S3's IAM names are not its API names)
    # What the part adds to CreateBucket for the rendered value, for a setting that can (or could once)
    # only be made at creation (Object Lock); None: the part is written after the create like any other.
    create_arguments: Callable[[Any], dict[str, Any]] | None = None


async def missing_is(default: Any, call: Awaitable[Any], codes: set[str]) -> Any:
    """The call's answer, or `default` when S3 answers one of `codes` (the configuration is absent)."""
    try:
        return await call
    except ClientError as error:
        if code_in(error, codes):
            return default
        raise
