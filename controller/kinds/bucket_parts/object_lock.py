"""S3 Object Lock (PutObjectLockConfiguration) and its default retention.

Object Lock is turned on by CreateBucket (ObjectLockEnabledForBucket) for a new bucket, and by
PutObjectLockConfiguration on an existing versioned one; AWS can never turn it off
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-configure.html). So `enabled: false`
only holds for a bucket that never had it: on one that has it, the write is a TerminalError, not a call.
"""

from __future__ import annotations

from typing import Any

from controller.api.bucket import Bucket
from controller.kinds.base import RefResolver, TerminalError
from controller.kinds.bucket_parts import BucketPart, missing_is


def _render(resource: Bucket, refs: RefResolver) -> dict[str, Any] | None:
    lock = resource.spec.object_lock
    if lock is None:
        return None
    state: dict[str, Any] = {"enabled": lock.enabled}
    retention = lock.default_retention
    if retention is not None:
        period = {"days": retention.days} if retention.days is not None else {"years": retention.years}
        state["defaultRetention"] = {"mode": retention.mode, **period}
    return state


async def _read(s3: Any, name: str) -> dict[str, Any]:
    response = await missing_is(None, s3.get_object_lock_configuration(Bucket=name),
                                {"ObjectLockConfigurationNotFoundError"})
    configuration = (response or {}).get("ObjectLockConfiguration", {})
    state: dict[str, Any] = {"enabled": configuration.get("ObjectLockEnabled") == "Enabled"}
    retention = configuration.get("Rule", {}).get("DefaultRetention")
    if retention:
        # moto reports the unit not set as 0 (AWS omits it); a retention is at least one day or year.
        period = {"days": retention["Days"]} if retention.get("Days") else {"years": retention.get("Years")}
        state["defaultRetention"] = {"mode": retention["Mode"], **period}
    return state


async def _write(s3: Any, name: str, lock: dict[str, Any]) -> None:
    if not lock["enabled"]:
        # Reached on create (a new bucket has no lock: nothing to do) and when a bucket that has Object Lock
        # drifted from enabled: false, which no call can correct.
        if (await _read(s3, name))["enabled"]:
            raise TerminalError(f"bucket {name} has Object Lock, which S3 can never turn off; set "
                                "objectLock.enabled: true, or remove objectLock to leave it unmanaged")
        return
    configuration: dict[str, Any] = {"ObjectLockEnabled": "Enabled"}
    if "defaultRetention" in lock:
        retention = lock["defaultRetention"]
        period = {"Days": retention["days"]} if "days" in retention else {"Years": retention["years"]}
        configuration["Rule"] = {"DefaultRetention": {"Mode": retention["mode"], **period}}
    await s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration=configuration)


def _create_arguments(lock: dict[str, Any]) -> dict[str, Any]:
    # IAM checks s3:PutBucketObjectLockConfiguration and s3:PutBucketVersioning for this flag, both granted
    # (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html); S3 turns versioning on with it.
    return {"ObjectLockEnabledForBucket": True} if lock["enabled"] else {}


PART = BucketPart("objectLock", _render, _read, _write,
                  ("s3:GetBucketObjectLockConfiguration", "s3:PutBucketObjectLockConfiguration"),
                  create_arguments=_create_arguments)
