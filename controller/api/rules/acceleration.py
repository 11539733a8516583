"""S3 Transfer Acceleration and the bucket's name.

Source: https://docs.aws.amazon.com/AmazonS3/latest/userguide/transfer-acceleration.html ("The name of
the bucket used for Transfer Acceleration must be DNS-compliant and must not contain periods")."""

from __future__ import annotations

from collections.abc import Iterator

from controller.api.bucket import Bucket
from controller.api.rules.base import Violation, rule


@rule(Bucket)
def accelerated_bucket_name_has_no_dots(bucket: Bucket) -> Iterator[Violation]:
    """"The name of the bucket used for Transfer Acceleration must be DNS-compliant and must not contain
    periods ('.')." https://docs.aws.amazon.com/AmazonS3/latest/userguide/transfer-acceleration.html
    S3 refuses PutBucketAccelerateConfiguration on such a bucket whatever the status, Suspended too."""
    name = bucket.external_name()
    if bucket.spec.transfer_acceleration is not None and "." in name:
        yield Violation(("spec", "transferAcceleration"),
                        f"S3 takes no transfer acceleration setting for a bucket whose name has periods ({name!r}); "
                        "leave transferAcceleration out")
