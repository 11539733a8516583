"""Who pays for requests and downloads (PutBucketRequestPayment): BucketOwner or Requester."""

from __future__ import annotations

from typing import Any

from controller.api.bucket import Bucket
from controller.kinds.base import RefResolver
from controller.kinds.bucket_parts import BucketPart

# S3 always reports a Payer, BucketOwner unless the bucket was made Requester Pays. moto does not implement
# request payment (docs/aws-emulator.md): it answers GetBucketRequestPayment as a ListObjects, with no Payer,
# and a PutBucketRequestPayment as a repeated CreateBucket; so there it reads as this default.
_DEFAULT = "BucketOwner"


def _render(resource: Bucket, refs: RefResolver) -> str | None:
    return resource.spec.request_payment


async def _read(s3: Any, name: str) -> str:
    return str((await s3.get_bucket_request_payment(Bucket=name)).get("Payer", _DEFAULT))


async def _write(s3: Any, name: str, payer: str) -> None:
    await s3.put_bucket_request_payment(Bucket=name, RequestPaymentConfiguration={"Payer": payer})


PART = BucketPart("requestPayment", _render, _read, _write,
                  ("s3:GetBucketRequestPayment", "s3:PutBucketRequestPayment"))
