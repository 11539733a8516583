"""S3 features that need a versioned bucket: Object Lock and replication.

Sources: https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-configure.html ("Before you lock
any objects, you must enable S3 Versioning and Object Lock"; "After you enable Object Lock on a bucket, you
can't disable Object Lock or suspend versioning for that bucket"),
https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-requirements.html ("Both source and
destination buckets must have S3 Versioning enabled").
"""

from __future__ import annotations

from collections.abc import Iterator

from controller.api.bucket import Bucket
from controller.api.rules.base import Violation, rule


@rule(Bucket)
def object_lock_keeps_versioning(bucket: Bucket) -> Iterator[Violation]:
    """Object Lock needs versioning and never lets it be suspended: versioning: false would fail forever.
    Left unmanaged (omitted) it is fine: S3 turns versioning on with Object Lock at creation.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-configure.html"""
    lock = bucket.spec.object_lock
    if lock is not None and lock.enabled and bucket.spec.versioning is False:
        yield Violation(("spec", "versioning"), "objectLock needs versioning: S3 cannot suspend versioning on a "
                                                "bucket with Object Lock; set versioning: true")


@rule(Bucket)
def replication_needs_versioning(bucket: Bucket) -> Iterator[Violation]:
    """"Both source and destination buckets must have S3 Versioning enabled": the source's is managed here
    (versioning: true), so that replication never depends on a setting trimtab does not hold.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-requirements.html"""
    replication = bucket.spec.replication
    if replication is not None and replication.rules and bucket.spec.versioning is not True:
        yield Violation(("spec", "versioning"), "replication needs versioning: true on the source bucket")
