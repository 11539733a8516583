"""S3 buckets. Observe reads only the sub-resources the spec manages."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError
from pydantic.alias_generators import to_snake

from controller.api.bucket import Bucket, LifecycleRule
from controller.api.rules.pairs import replica_can_receive
from controller.api.substitution import SELF_ARN, Environment, values
from controller.aws import AwsClients, code_in
from controller.kinds.base import (
    Desired,
    Observation,
    Outputs,
    OwnedElsewhere,
    RefResolver,
    ResourceClient,
    ResourceGone,
    TerminalError,
    compare,
)
from controller.kinds.bucket_parts import (
    BucketPart,
    access_logging,
    cors,
    intelligent_tiering,
    missing_is,
    notifications,
    object_lock,
    ownership_controls,
    replication,
    request_payment,
    transfer_acceleration,
    website,
)
from controller.kinds.bucket_parts.filters import key_filter, observed_filter
from controller.kinds.descriptor import IamGrant, KindDescriptor, Touched, touch
from controller.kinds.diff import ABSENT
from controller.kinds.ownership import describe_owner, marked_for_another
from controller.kinds.tag_index import TagIndex
from controller.store.base import Identity

# The optional sub-resources, each a module of controller/kinds/bucket_parts/, written in this order
# after the public access block, versioning, encryption, lifecycle and policy.
PARTS: tuple[BucketPart, ...] = (ownership_controls.PART, access_logging.PART,
                                 cors.PART, website.PART, transfer_acceleration.PART, request_payment.PART,
                                 intelligent_tiering.PART, notifications.PART, object_lock.PART, replication.PART)
_NOT_FOUND = {"404", "NoSuchBucket", "NotFound"}
TLS_STATEMENT_SID = "DenyInsecureTransport"
_PAB_KEYS = {
    "blockPublicAcls": "BlockPublicAcls",
    "ignorePublicAcls": "IgnorePublicAcls",
    "blockPublicPolicy": "BlockPublicPolicy",
    "restrictPublicBuckets": "RestrictPublicBuckets",
}


class BucketClient(ResourceClient[Bucket]):
    kind = "Bucket"
    service = "s3"
    # CreateBucket cannot tag in every partition/emulator: the engine guards the gap with a pending record.
    tags_at_creation = False

    def region(self, resource: Bucket) -> str:
        return resource.spec.region or self.aws.region

    def identity(self, resource: Bucket, refs: RefResolver) -> Identity:
        return {"name": resource.external_name(), "region": self.region(resource)}

    def render(self, resource: Bucket, refs: RefResolver, environment: Environment) -> dict[str, Any]:
        spec = resource.spec
        state: dict[str, Any] = {
            "region": self.region(resource),
            "publicAccessBlock": {key: getattr(spec.public_access_block, to_snake(key)) for key in _PAB_KEYS},
        }
        if spec.versioning is not None:
            state["versioning"] = spec.versioning
        if spec.encryption is not None:
            # BucketKeyEnabled with either algorithm, as S3 reports it (false by default with SSE-S3).
            encryption: dict[str, Any] = {"type": spec.encryption.type,
                                          "bucketKey": spec.encryption.bucket_key_enabled}
            if spec.encryption.type == "SSE-KMS" and spec.encryption.kms_key_id:
                encryption["kmsKeyId"] = spec.encryption.kms_key_id
            state["encryption"] = encryption
        if spec.lifecycle_rules is not None:
            state["lifecycleRules"] = [_lifecycle_rule(rule) for rule in spec.lifecycle_rules]
        for part in PARTS:
            value = part.render(resource, refs)
            if value is not None:
                state[part.key] = value
        policy = _policy(resource, environment)
        if policy is not None:
            state["policy"] = policy
        return state

    def __init__(self, aws: AwsClients, tag_index: TagIndex | None = None) -> None:
        super().__init__(aws, tag_index)
        # Bucket name -> the region HeadBucket reported. A bucket's region is fixed at creation, so
        # HeadBucket is needed once; after that the first sub-resource read also proves existence.
        self._regions: dict[str, str] = {}

    async def observe(self, desired: Desired[Bucket]) -> Observation:
        name, region = desired.identity["name"], desired.identity["region"]
        s3 = await self.aws.client("s3", region)
        known_region = self._regions.pop(name, None)  # kept again only if this read succeeds
        try:
            return await self._observe(s3, desired, known_region)
        except ClientError as error:
            if code_in(error, _NOT_FOUND):
                return Observation(exists=False)
            raise

    async def _observe(self, s3: Any, desired: Desired[Bucket], known_region: str | None) -> Observation:
        name = desired.identity["name"]
        actual_region = known_region
        if actual_region is None:
            try:
                head = await s3.head_bucket(Bucket=name)
            except ClientError as error:
                if code_in(error, {"403", "AccessDenied", "Forbidden"}):
                    # Someone else's bucket (names are global): it exists, and it is not ours. Only
                    # HeadBucket's 403 says so: one from a sub-resource read is a missing grant, an error.
                    return Observation(exists=True, tags={}, outputs=_outputs(name))
                raise
            headers = head.get("ResponseMetadata", {}).get("HTTPHeaders", {})
            actual_region = headers.get("x-amz-bucket-region", desired.identity["region"])
        # The sub-resources are independent reads: issue them together (the rate limiter still paces them).
        readers = {"publicAccessBlock": _read_public_access_block, "versioning": _read_versioning,
                   "encryption": _read_encryption, "lifecycleRules": _read_lifecycle, "policy": _read_policy,
                   **{part.key: part.read for part in PARTS}}
        wanted = [part for part in readers if part in desired.state]
        arn = _outputs(name)["arn"]
        tags_read = self.tag_index.tags(arn, actual_region, desired.tags, lambda: _read_tags(s3, name))
        tags, parts = await asyncio.gather(tags_read, asyncio.gather(*(readers[part](s3, name) for part in wanted)))
        state: dict[str, Any] = {"region": actual_region, **dict(zip(wanted, parts, strict=True))}
        self._regions[name] = actual_region  # only once the bucket answered as one we can read
        return compare(desired, Observation(exists=True, state=state, tags=tags, outputs=_outputs(name)))

    async def create(self, desired: Desired[Bucket]) -> Outputs:
        name, region = desired.identity["name"], desired.identity["region"]
        s3 = await self.aws.client("s3", region)
        arguments: dict[str, Any] = {"Bucket": name}
        if region != "us-east-1":  # us-east-1 rejects an explicit LocationConstraint
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
        for part in PARTS:
            if part.create_arguments is not None and part.key in desired.state:
                arguments.update(part.create_arguments(desired.state[part.key]))
        await s3.create_bucket(**arguments)
        self._regions[name] = region
        # CreateBucket in us-east-1 answers 200 for a bucket this account already has, and S3 cannot tag
        # in the create call: a bucket marked by another owner is theirs, so it is never re-tagged.
        found = await _read_tags(s3, name)
        if marked_for_another(found, desired.tags):
            raise OwnedElsewhere(f"already existed when created: it is owned by {describe_owner(found)}; "
                                 "set spec.adopt: true to take it over")
        await _write_tags(s3, name, desired.tags or {})
        await self._write(s3, name, desired.state, set(desired.state))
        return _outputs(name)

    async def update(self, desired: Desired[Bucket], observation: Observation) -> Outputs:
        changed = {change.path.split(".", 1)[0] for change in observation.diff}
        if "region" in changed:
            raise TerminalError(
                f"bucket {desired.identity['name']} is in {observation.state.get('region')}, "
                f"not {desired.state['region']}; a bucket's region is fixed at creation"
            )
        s3 = await self.aws.client("s3", desired.identity["region"])
        name = desired.identity["name"]
        if "tags" in changed:
            await _write_tags(s3, name, desired.tags or {})
        await self._write(s3, name, desired.state, changed)
        return observation.outputs

    async def _write(self, s3: Any, name: str, state: dict[str, Any], parts: set[str]) -> None:
        # Public access block first, so a policy is never live on a bucket without it.
        if "publicAccessBlock" in parts:
            block = {aws: state["publicAccessBlock"][key] for key, aws in _PAB_KEYS.items()}
            await s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=block)
        if "versioning" in parts:
            status = "Enabled" if state["versioning"] else "Suspended"
            await s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
        if "encryption" in parts:
            await s3.put_bucket_encryption(
                Bucket=name, ServerSideEncryptionConfiguration=_encryption_configuration(state["encryption"])
            )
        if "lifecycleRules" in parts:
            rules = state["lifecycleRules"]
            if rules:
                await s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
            else:
                await s3.delete_bucket_lifecycle(Bucket=name)
        if "policy" in parts:
            await s3.put_bucket_policy(Bucket=name, Policy=json.dumps(state["policy"]))
        for part in PARTS:
            if part.key in parts:
                await part.write(s3, name, state[part.key])

    async def read_tags(self, identity: Identity) -> dict[str, str] | None:
        s3 = await self.aws.client("s3", identity.get("region"))
        try:
            return await _read_tags(s3, identity["name"])
        except ClientError as error:
            if code_in(error, _NOT_FOUND):
                raise ResourceGone(identity["name"]) from error
            raise

    async def delete(self, identity: Identity) -> None:
        s3 = await self.aws.client("s3", identity.get("region"))
        try:
            await s3.delete_bucket(Bucket=identity["name"])
        except ClientError as error:
            if code_in(error, _NOT_FOUND):
                return
            if code_in(error, ("BucketNotEmpty",)):
                raise TerminalError(
                    f"bucket {identity['name']} is not empty; trimtab never deletes objects. "
                    "Empty it, or set deletionPolicy: Retain"
                ) from error
            raise



def _outputs(name: str) -> Outputs:
    return {"name": name, "arn": f"arn:aws:s3:::{name}"}


def _policy(resource: Bucket, environment: Environment) -> dict[str, Any] | None:
    spec = resource.spec
    if spec.policy is None and not spec.require_tls:
        return None
    document = dict(spec.policy or {"Version": "2012-10-17"})
    statements = document.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else list(statements)
    if spec.require_tls:
        arn = values(resource, environment)[SELF_ARN]  # in the caller's partition
        statements.append({
            "Sid": TLS_STATEMENT_SID,
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [arn, f"{arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        })
    document["Statement"] = statements
    return document


def _lifecycle_rule(rule: LifecycleRule) -> dict[str, Any]:
    """A spec rule in S3's wire shape, which is also what GetBucketLifecycleConfiguration returns."""
    aws: dict[str, Any] = {"ID": rule.id, "Status": "Enabled" if rule.enabled else "Disabled"}
    tags = [{"Key": key, "Value": value} for key, value in (rule.tags or {}).items()]
    aws["Filter"] = key_filter(rule.prefix, tags, rule.object_size_greater_than, rule.object_size_less_than)
    if rule.expiration is not None:
        if rule.expiration.days is not None:
            aws["Expiration"] = {"Days": rule.expiration.days}
        else:
            aws["Expiration"] = {"ExpiredObjectDeleteMarker": rule.expiration.expired_object_delete_marker}
    if rule.noncurrent_version_expiration is not None:
        expiry: dict[str, Any] = {"NoncurrentDays": rule.noncurrent_version_expiration.noncurrent_days}
        if rule.noncurrent_version_expiration.newer_noncurrent_versions is not None:
            expiry["NewerNoncurrentVersions"] = rule.noncurrent_version_expiration.newer_noncurrent_versions
        aws["NoncurrentVersionExpiration"] = expiry
    if rule.transitions:
        aws["Transitions"] = [{"Days": t.days, "StorageClass": t.storage_class} for t in rule.transitions]
    if rule.noncurrent_version_transitions:
        aws["NoncurrentVersionTransitions"] = [
            {"NoncurrentDays": t.noncurrent_days, "StorageClass": t.storage_class}
            for t in rule.noncurrent_version_transitions
        ]
    if rule.abort_incomplete_multipart_upload is not None:
        aws["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": rule.abort_incomplete_multipart_upload.days_after_initiation
        }
    return aws


def _encryption_configuration(encryption: dict[str, Any]) -> dict[str, Any]:
    default: dict[str, Any] = {"SSEAlgorithm": "AES256" if encryption["type"] == "SSE-S3" else "aws:kms"}
    rule: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": encryption["bucketKey"]}
    if encryption["type"] == "SSE-KMS" and "kmsKeyId" in encryption:
        default["KMSMasterKeyID"] = encryption["kmsKeyId"]
    return {"Rules": [rule]}


async def _read_tags(s3: Any, name: str) -> dict[str, str]:
    response = await missing_is({}, s3.get_bucket_tagging(Bucket=name), {"NoSuchTagSet", "NoSuchTagSetError"})
    return {tag["Key"]: tag["Value"] for tag in response.get("TagSet", [])}


async def _write_tags(s3: Any, name: str, tags: dict[str, str]) -> None:
    tag_set = [{"Key": key, "Value": value} for key, value in sorted(tags.items())]
    await s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_set})


async def _read_versioning(s3: Any, name: str) -> bool:
    return bool((await s3.get_bucket_versioning(Bucket=name)).get("Status") == "Enabled")


async def _read_public_access_block(s3: Any, name: str) -> dict[str, bool]:
    response = await missing_is(
        {}, s3.get_public_access_block(Bucket=name), {"NoSuchPublicAccessBlockConfiguration"}
    )
    config = response.get("PublicAccessBlockConfiguration", {})
    return {key: bool(config.get(aws, False)) for key, aws in _PAB_KEYS.items()}


async def _read_encryption(s3: Any, name: str) -> Any:
    # moto returns no configuration for a new bucket; real AWS reports an SSE-S3 default. Both read
    # as "not the desired encryption" only when the spec manages encryption, which is the only time we look.
    response = await missing_is(
        None, s3.get_bucket_encryption(Bucket=name), {"ServerSideEncryptionConfigurationNotFoundError"}
    )
    if response is None:
        return ABSENT
    rule = response["ServerSideEncryptionConfiguration"]["Rules"][0]
    default = rule.get("ApplyServerSideEncryptionByDefault", {})
    bucket_key = bool(rule.get("BucketKeyEnabled", False))
    if default.get("SSEAlgorithm") == "AES256":
        return {"type": "SSE-S3", "bucketKey": bucket_key}
    encryption: dict[str, Any] = {"type": "SSE-KMS", "bucketKey": bucket_key}
    if default.get("KMSMasterKeyID"):
        encryption["kmsKeyId"] = default["KMSMasterKeyID"]
    return encryption


async def _read_lifecycle(s3: Any, name: str) -> list[dict[str, Any]]:
    response = await missing_is(
        {}, s3.get_bucket_lifecycle_configuration(Bucket=name), {"NoSuchLifecycleConfiguration"}
    )
    rules = [
        {key: value for key, value in rule.items() if key != "TransitionDefaultMinimumObjectSize"}
        for rule in response.get("Rules", [])
    ]
    for rule in rules:
        if "Filter" in rule:  # one filter has several spellings (a lone tag inside And, ...): read the canonical
            rule["Filter"] = observed_filter(rule["Filter"])
    return rules


async def _read_policy(s3: Any, name: str) -> Any:
    response = await missing_is(None, s3.get_bucket_policy(Bucket=name), {"NoSuchBucketPolicy"})
    return ABSENT if response is None else json.loads(response["Policy"])


def _touched_by(event: str, parameters: dict[str, Any], region: str) -> Iterator[Touched]:
    # Bucket-level writes only: object writes are data events, which the rule does not select.
    bucket = parameters.get("bucketName")
    if bucket:
        yield touch("Bucket", name=bucket)


DESCRIPTOR = KindDescriptor(
    model=Bucket, client=BucketClient, delete_rank=3, events=_touched_by,
    iam=IamGrant(
        # S3's IAM names differ from its API names: HeadBucket is s3:ListBucket, the lifecycle, encryption
        # and public-access-block calls (Delete* included) are s3:*LifecycleConfiguration and so on.
        actions=("s3:CreateBucket", "s3:DeleteBucket", "s3:ListBucket", "s3:GetBucketTagging", "s3:PutBucketTagging",
                 "s3:GetBucketVersioning", "s3:PutBucketVersioning", "s3:GetEncryptionConfiguration",
                 "s3:PutEncryptionConfiguration", "s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration",
                 "s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:GetBucketPublicAccessBlock",
                 "s3:PutBucketPublicAccessBlock",
                 *(action for part in PARTS for action in part.actions)),
        resource="arn:aws:s3:::{prefix}*",
        unscoped_actions=("tag:GetResources",),  # tags read in bulk (tag_index.py)
        # replication.role, checked as iam:PassRole inside PutBucketReplication
        # (https://docs.aws.amazon.com/AmazonS3/latest/userguide/setting-repl-config-perm-overview.html).
        passes_role_to="s3.amazonaws.com",
    ),
    pair_rules=(replica_can_receive,),
    terminal_codes=frozenset({"BucketNotEmpty", "IllegalLocationConstraintException", "BucketAlreadyExists",
                              "InvalidArgument", "MalformedPolicy"}),
)
