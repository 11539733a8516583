"""Bucket: an S3 general-purpose bucket with versioning, encryption, public access block,
lifecycle rules, object ownership, server access logging, CORS, static website hosting, transfer
acceleration, request payment, Intelligent-Tiering archive configurations, event notifications, object
lock, replication, a policy and tags."""

from __future__ import annotations

import ipaddress
import re
from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from controller.api.aws_params import Hand, Param, ParamTable, TrimtabOnly
from controller.api.envelope import MANAGED_PARAMS, DeletionPolicy, ManagedSpec, Resource
from controller.api.fields import (
    TAG_KEY_MAX,
    TAG_VALUE,
    BucketRef,
    FieldError,
    PolicyDocument,
    QueueRef,
    Ref,
    SpecModel,
    Tags,
    TopicRef,
    tag_params,
)
from controller.api.substitution import PARTITION_PATTERN

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
REGION_PATTERN = r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$"

# AWS refuses transitions to the infrequent-access classes sooner than 30 days after creation.
_IA_CLASSES = {"STANDARD_IA", "ONEZONE_IA"}
_IA_MIN_DAYS = 30
# Intelligent-Tiering's Deep Archive Access tier takes 180 days or more without access (Archive Access 90):
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/intelligent-tiering-managing.html
_DEEP_ARCHIVE_MIN_DAYS = 180
# The methods a CORS rule may allow: https://docs.aws.amazon.com/AmazonS3/latest/API/API_CORSRule.html
CORS_METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")


def check_bucket_name(name: str) -> str | None:
    """The reason `name` is not a valid S3 bucket name, or None."""
    if not 3 <= len(name) <= 63:
        return f"a bucket name must be 3 to 63 characters (got {len(name)})"
    if not _BUCKET_RE.match(name):
        return "a bucket name is lowercase letters, digits, '.' and '-', starting and ending with a letter or digit"
    if ".." in name:
        return "a bucket name must not contain two adjacent periods"
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        pass
    else:
        return "a bucket name must not look like an IP address"
    for prefix in _RESERVED_PREFIXES:
        if name.startswith(prefix):
            return f"a bucket name must not start with the reserved prefix {prefix!r}"
    for suffix in _RESERVED_SUFFIXES:
        if name.endswith(suffix):
            return f"a bucket name must not end with the reserved suffix {suffix!r}"
    return None


class BucketEncryption(SpecModel):
    type: Literal["SSE-S3", "SSE-KMS"] = Field(description="SSE-S3 (AES256) or SSE-KMS.")
    kms_key_id: str | None = Field(
        default=None, description="SSE-KMS only: key id, ARN or alias; the AWS-managed aws/s3 key if omitted."
    )
    bucket_key: bool | None = Field(
        default=None,
        description="Use an S3 Bucket Key to cut KMS calls. Default: true with SSE-KMS, false with SSE-S3.",
    )

    @model_validator(mode="after")
    def _kms_only(self) -> Self:
        if self.type == "SSE-S3" and self.kms_key_id is not None:
            raise FieldError("kmsKeyId", "kmsKeyId is only allowed with type SSE-KMS")
        return self

    @property
    def bucket_key_enabled(self) -> bool:
        """BucketKeyEnabled as AWS reports it: S3 takes the flag with either algorithm (ACK's e2e test
        sets it false with SSE-S3); trimtab defaults it on for SSE-KMS only."""
        return self.bucket_key if self.bucket_key is not None else self.type == "SSE-KMS"


class PublicAccessBlock(SpecModel):
    block_public_acls: bool = Field(default=True, description="Reject requests that grant public ACLs.")
    ignore_public_acls: bool = Field(default=True, description="Ignore existing public ACLs.")
    block_public_policy: bool = Field(default=True, description="Reject bucket policies that grant public access.")
    restrict_public_buckets: bool = Field(
        default=True, description="Restrict access to a bucket with a public policy to AWS principals."
    )


class Expiration(SpecModel):
    days: int | None = Field(default=None, description="Expire current versions this many days old.")
    expired_object_delete_marker: bool | None = Field(
        default=None, description="Remove delete markers that have no noncurrent versions left."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.days is None) == (self.expired_object_delete_marker is None):
            raise ValueError("expiration needs exactly one of days or expiredObjectDeleteMarker")
        return self


class NoncurrentVersionExpiration(SpecModel):
    noncurrent_days: int = Field(description="Days after a version becomes noncurrent.")
    newer_noncurrent_versions: int | None = Field(
        default=None, description="Keep this many newer noncurrent versions."
    )


class Transition(SpecModel):
    days: int = Field(description="Days after creation.")
    storage_class: str = Field(description="The storage class to move objects to.")

    @model_validator(mode="after")
    def _ia_minimum(self) -> Self:
        if self.storage_class in _IA_CLASSES and self.days < _IA_MIN_DAYS:
            raise FieldError("days", f"{self.storage_class} needs at least {_IA_MIN_DAYS} days (got {self.days})")
        return self


class NoncurrentVersionTransition(SpecModel):
    noncurrent_days: int = Field(description="Days after a version becomes noncurrent.")
    storage_class: str = Field(description="The storage class to move versions to.")


class AbortIncompleteMultipartUpload(SpecModel):
    days_after_initiation: int = Field(description="Abort uploads still incomplete after this many days.")


class LifecycleRule(SpecModel):
    id: str = Field(description="The rule's unique id.")
    enabled: bool = Field(default=True, description="Whether the rule is applied.")
    prefix: str | None = Field(default=None, description="Filter: object key prefix.")
    tags: dict[str, str] | None = Field(default=None, description="Filter: objects carrying all these tags.")
    object_size_greater_than: int | None = Field(
        default=None, description="Filter: objects larger than this many bytes."
    )
    object_size_less_than: int | None = Field(default=None, description="Filter: objects smaller than this many bytes.")
    expiration: Expiration | None = None
    noncurrent_version_expiration: NoncurrentVersionExpiration | None = None
    transitions: list[Transition] | None = None
    noncurrent_version_transitions: list[NoncurrentVersionTransition] | None = None
    abort_incomplete_multipart_upload: AbortIncompleteMultipartUpload | None = None

    @model_validator(mode="after")
    def _has_action(self) -> Self:
        actions = (self.expiration, self.noncurrent_version_expiration, self.transitions,
                   self.noncurrent_version_transitions, self.abort_incomplete_multipart_upload)
        if all(action is None for action in actions):
            raise ValueError(
                f"lifecycle rule {self.id!r} needs an action: expiration, noncurrentVersionExpiration, "
                "transitions, noncurrentVersionTransitions or abortIncompleteMultipartUpload"
            )
        if self.abort_incomplete_multipart_upload is not None and self.tags:
            raise FieldError("tags", "abortIncompleteMultipartUpload cannot be combined with a tag filter")
        return self


class BucketLogging(SpecModel):
    target_bucket_ref: BucketRef | None = Field(
        default=None, description="The Bucket spec whose bucket receives the logs; it is created first."
    )
    target_bucket: str | None = Field(
        default=None,
        description="A bucket by name: one not managed here, or this bucket itself (a reference to itself is a cycle).",
    )
    target_prefix: str = Field(default="", description="The key prefix of the log objects.")

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.target_bucket_ref is None) == (self.target_bucket is None):
            raise ValueError("logging needs exactly one of targetBucketRef or targetBucket")
        if self.target_bucket is not None and (problem := check_bucket_name(self.target_bucket)):
            raise FieldError("targetBucket", problem)
        return self


# ---- CORS, website hosting, transfer acceleration, request payment, intelligent tiering ---------------


class CorsRule(SpecModel):
    id: str | None = Field(default=None, description="The rule's id, to tell rules apart.")
    allowed_methods: list[str] = Field(description="The methods a cross-origin request may use: GET, PUT, POST, "
                                                   "DELETE or HEAD.")
    allowed_origins: list[str] = Field(description="The origins allowed, e.g. https://www.example.com; each may hold "
                                                   "one '*' wildcard.")
    allowed_headers: list[str] | None = Field(
        default=None, description="Headers a preflight may ask for (Access-Control-Request-Headers); '*' allowed.")
    expose_headers: list[str] | None = Field(
        default=None, description="Response headers a browser's script may read, e.g. ETag.")
    max_age_seconds: int | None = Field(
        default=None, description="How long a browser may cache the preflight response, in seconds.")

    @model_validator(mode="after")
    def _methods(self) -> Self:
        for index, method in enumerate(self.allowed_methods):
            if method not in CORS_METHODS:
                raise FieldError(f"allowedMethods[{index}]", f"{method!r} is not one of {', '.join(CORS_METHODS)}")
        return self


class WebsiteRedirectAll(SpecModel):
    host_name: str = Field(description="The host every request is redirected to.")
    protocol: str | None = Field(default=None, description="http or https; the request's own if omitted.")


class RoutingCondition(SpecModel):
    key_prefix_equals: str | None = Field(default=None, description="Applies to keys starting with this prefix.")
    http_error_code_returned_equals: str | None = Field(
        default=None, description="Applies when S3 would answer this HTTP error code, e.g. 404.")

    @model_validator(mode="after")
    def _some_condition(self) -> Self:
        if self.key_prefix_equals is None and self.http_error_code_returned_equals is None:
            raise ValueError("a condition needs keyPrefixEquals or httpErrorCodeReturnedEquals")
        return self


class RoutingRedirect(SpecModel):
    host_name: str | None = Field(default=None, description="The host to redirect to; this bucket's if omitted.")
    protocol: str | None = Field(default=None, description="http or https; the request's own if omitted.")
    replace_key_prefix_with: str | None = Field(
        default=None, description="Replace the matched keyPrefixEquals with this prefix.")
    replace_key_with: str | None = Field(default=None, description="Redirect to this key.")
    http_redirect_code: str | None = Field(default=None, description="The redirect's HTTP code; 301 if omitted.")

    @model_validator(mode="after")
    def _redirects(self) -> Self:
        targets = (self.host_name, self.protocol, self.replace_key_prefix_with, self.replace_key_with,
                   self.http_redirect_code)
        if all(target is None for target in targets):
            raise ValueError("a redirect needs at least one of hostName, protocol, replaceKeyPrefixWith, "
                             "replaceKeyWith or httpRedirectCode")
        if self.replace_key_prefix_with is not None and self.replace_key_with is not None:
            raise FieldError("replaceKeyWith", "replaceKeyWith cannot be combined with replaceKeyPrefixWith")
        return self


class RoutingRule(SpecModel):
    condition: RoutingCondition | None = Field(
        default=None, description="When the redirect applies; always if omitted.")
    redirect: RoutingRedirect = Field(description="Where the request is redirected.")


class BucketWebsite(SpecModel):
    index_document: str | None = Field(
        default=None, description="The key suffix served for a request to a folder, e.g. index.html.")
    error_document: str | None = Field(default=None, description="The object served on a 4XX error, e.g. 404.html.")
    redirect_all_requests_to: WebsiteRedirectAll | None = Field(
        default=None, description="Redirect every request to another host, instead of serving objects.")
    routing_rules: list[RoutingRule] | None = Field(default=None, description="Conditional redirects, in order.")


class Tiering(SpecModel):
    days: int = Field(description="Days without access before objects move to the tier.")
    access_tier: str = Field(description="ARCHIVE_ACCESS (90 days or more) or DEEP_ARCHIVE_ACCESS (180 or more).")

    @model_validator(mode="after")
    def _deep_archive_minimum(self) -> Self:
        if self.access_tier == "DEEP_ARCHIVE_ACCESS" and self.days < _DEEP_ARCHIVE_MIN_DAYS:
            raise FieldError("days",
                             f"DEEP_ARCHIVE_ACCESS needs at least {_DEEP_ARCHIVE_MIN_DAYS} days (got {self.days})")
        return self


class IntelligentTieringConfiguration(SpecModel):
    id: str = Field(description="The configuration's unique id.")
    enabled: bool = Field(default=True, description="Whether the configuration is applied.")
    prefix: str | None = Field(default=None, description="Filter: object key prefix.")
    tags: dict[str, str] | None = Field(default=None, description="Filter: objects carrying all these tags.")
    tierings: list[Tiering] = Field(description="The archive tiers objects move to after days without access.")
# ---- event notifications, object lock and replication ---------------------------------------------------


class NotificationFilter(SpecModel):
    prefix: str | None = Field(default=None, description="Only object keys starting with this.")
    suffix: str | None = Field(default=None, description="Only object keys ending with this.")


class EventNotification(SpecModel):
    id: str | None = Field(
        default=None,
        description="The configuration's id. Default: the list's name and the position in it (queues-0, ...), "
                    "so that it reads back as written (S3 would invent a random one).")
    events: list[str] = Field(description="The S3 event types sent, e.g. s3:ObjectCreated:*.")
    filter: NotificationFilter | None = Field(default=None, description="Key name filter; all objects if omitted.")

    def target(self) -> Ref | str:
        """The destination: a reference to resolve to its ARN, or the ARN itself."""
        raise NotImplementedError


class QueueNotification(EventNotification):
    queue_ref: QueueRef = Field(description="The Queue spec sent the events (its ARN); it is created first.")

    def target(self) -> Ref | str:
        ref: Ref = self.queue_ref
        return ref


class TopicNotification(EventNotification):
    topic_ref: TopicRef = Field(description="The Topic spec sent the events (its ARN); it is created first.")

    def target(self) -> Ref | str:
        ref: Ref = self.topic_ref
        return ref


class LambdaNotification(EventNotification):
    lambda_function_arn: str = Field(description="The Lambda function invoked, by ARN.")

    def target(self) -> Ref | str:
        return self.lambda_function_arn


class BucketNotifications(SpecModel):
    queues: list[QueueNotification] = Field(default_factory=list, description="Events sent to SQS queues.")
    topics: list[TopicNotification] = Field(default_factory=list, description="Events sent to SNS topics.")
    lambda_functions: list[LambdaNotification] = Field(
        default_factory=list, description="Events sent to Lambda functions.")

    def configurations(self) -> dict[str, list[tuple[str, EventNotification]]]:
        """Each list's configurations with their ids, the default ones filled in."""
        return {name: [(item.id or f"{name}-{index}", item) for index, item in enumerate(items)]
                for name, items in (("queues", self.queues), ("topics", self.topics),
                                    ("lambdaFunctions", self.lambda_functions))}

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        seen: set[str] = set()
        for name, items in self.configurations().items():
            for index, (configuration_id, _) in enumerate(items):
                if configuration_id in seen:
                    raise FieldError(f"{name}[{index}].id", f"duplicate notification id {configuration_id!r}")
                seen.add(configuration_id)
        return self


class DefaultRetention(SpecModel):
    mode: str = Field(description="GOVERNANCE (users with s3:BypassGovernanceRetention may override) or "
                                  "COMPLIANCE (nobody may, not even the root user).")
    days: int | None = Field(default=None, description="Retain new object versions this many days.")
    years: int | None = Field(default=None, description="Retain new object versions this many years.")

    @model_validator(mode="after")
    def _days_or_years(self) -> Self:
        if (self.days is None) == (self.years is None):
            raise ValueError("defaultRetention needs exactly one of days or years")
        return self


class ObjectLock(SpecModel):
    enabled: bool = Field(
        default=True,
        description="Object Lock on the bucket (set at creation, or on an existing versioned bucket). AWS "
                    "cannot turn it off: false on a bucket that has it is an error, never attempted.")
    default_retention: DefaultRetention | None = Field(
        default=None,
        description="The retention new object versions get; none if omitted (one set by hand is removed).")

    @model_validator(mode="after")
    def _retention_needs_lock(self) -> Self:
        if self.default_retention is not None and not self.enabled:
            raise FieldError("defaultRetention", "a default retention needs enabled: true")
        return self


class ReplicationDestination(SpecModel):
    bucket_ref: BucketRef | None = Field(
        default=None, description="The Bucket spec replicated to (its ARN); it is created first.")
    bucket: str | None = Field(default=None, description="A bucket not managed here, by ARN.")
    storage_class: str | None = Field(
        default=None, description="The replicas' storage class; the source object's if omitted.")
    account: str | None = Field(
        default=None, description="The destination bucket owner's account id, for cross-account replication.")

    @model_validator(mode="after")
    def _one_bucket(self) -> Self:
        if (self.bucket_ref is None) == (self.bucket is None):
            raise ValueError("a replication destination needs exactly one of bucketRef or bucket")
        return self


class ReplicationRule(SpecModel):
    id: str = Field(description="The rule's unique id.")
    priority: int | None = Field(
        default=None, description="Which rule wins where two match a key (higher wins). Default: the rule's "
                                  "position in the list (0, 1, ...).")
    enabled: bool = Field(default=True, description="Whether the rule is applied.")
    prefix: str | None = Field(default=None, description="Filter: object key prefix.")
    tags: dict[str, str] | None = Field(default=None, description="Filter: objects carrying all these tags.")
    destination: ReplicationDestination = Field(description="Where the objects are replicated to.")
    delete_marker_replication: bool = Field(default=False, description="Replicate delete markers too (not with "
                                                                       "a tag filter).")

    @model_validator(mode="after")
    def _delete_markers_without_tags(self) -> Self:
        # "If your Filter includes a Tag element, the DeleteMarkerReplication Status must be set to Disabled."
        # https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteMarkerReplication.html
        if self.delete_marker_replication and self.tags:
            raise FieldError("deleteMarkerReplication", "S3 replicates no delete markers for a rule with a tag "
                                                        "filter: set deleteMarkerReplication: false, or drop tags")
        return self


class BucketReplication(SpecModel):
    role: str = Field(
        description="The IAM role S3 replicates with, by ARN. trimtab needs iam:PassRole on it, to "
                    "s3.amazonaws.com; the role must let S3 read this bucket and write the destinations.")
    rules: list[ReplicationRule] = Field(description="The rules; an empty list removes the replication.")

    def priorities(self) -> list[int]:
        return [rule.priority if rule.priority is not None else index for index, rule in enumerate(self.rules)]

    @model_validator(mode="after")
    def _unique_ids_and_priorities(self) -> Self:
        ids: set[str] = set()
        priorities: set[int] = set()
        for index, (rule, priority) in enumerate(zip(self.rules, self.priorities(), strict=True)):
            if rule.id in ids:
                raise FieldError(f"rules[{index}].id", f"duplicate replication rule id {rule.id!r}")
            if priority in priorities:
                raise FieldError(f"rules[{index}].priority", f"two rules have priority {priority}; S3 needs "
                                                             "each rule's priority to be unique")
            ids.add(rule.id)
            priorities.add(priority)
        return self


class BucketSpec(ManagedSpec):
    deletion_policy: DeletionPolicy = Field(
        default="Retain",
        description="Buckets default to Retain: removing the spec leaves the bucket and its data in place.",
    )
    bucket_name: str | None = Field(default=None, description="The S3 bucket name; defaults to metadata.name.")
    region: str | None = Field(default=None, description="The bucket's region; the controller's region if omitted.")
    versioning: bool | None = Field(
        default=None, description="true: Enabled, false: Suspended; unmanaged when omitted."
    )
    encryption: BucketEncryption | None = Field(
        default=None, description="Default encryption; unmanaged when omitted."
    )
    public_access_block: PublicAccessBlock = Field(
        default_factory=PublicAccessBlock, description="Always managed; all four settings on by default."
    )
    lifecycle_rules: list[LifecycleRule] | None = Field(
        default=None, description="Lifecycle rules; unmanaged (never read) when omitted."
    )
    # AWS's S3 security best practices advise BucketOwnerEnforced, which disables ACLs:
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html
    ownership_controls: str | None = Field(
        default=None,
        description="Object ownership; BucketOwnerEnforced disables ACLs (AWS's advice). Unmanaged when omitted.",
    )
    logging: BucketLogging | None = Field(
        default=None,
        description="Server access logging to targetBucketRef or targetBucket. The target bucket's policy must "
                    "let logging.s3.amazonaws.com s3:PutObject. Unmanaged when omitted.",
    )
    cors: list[CorsRule] | None = Field(
        default=None,
        description="Cross-origin resource sharing rules "
                    "(https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html); an empty list removes the "
                    "configuration. Unmanaged when omitted.",
    )
    website: BucketWebsite | None = Field(
        default=None,
        description="Static website hosting (https://docs.aws.amazon.com/AmazonS3/latest/userguide/"
                    "WebsiteHosting.html): indexDocument, or redirectAllRequestsTo alone; {} turns hosting off. "
                    "Unmanaged when omitted.",
    )
    transfer_acceleration: bool | None = Field(
        default=None,
        description="true: Enabled, false: Suspended (https://docs.aws.amazon.com/AmazonS3/latest/userguide/"
                    "transfer-acceleration.html); not for bucket names with dots. Unmanaged when omitted.",
    )
    request_payment: str | None = Field(
        default=None,
        description="Who pays for requests and downloads: BucketOwner or Requester "
                    "(https://docs.aws.amazon.com/AmazonS3/latest/userguide/RequesterPaysBuckets.html). "
                    "Unmanaged when omitted.",
    )
    intelligent_tiering_configurations: list[IntelligentTieringConfiguration] | None = Field(
        default=None,
        description="S3 Intelligent-Tiering archive configurations (https://docs.aws.amazon.com/AmazonS3/latest/"
                    "userguide/intelligent-tiering-managing.html); the whole set is managed: others are deleted. "
                    "Unmanaged when omitted.",
    )
    notifications: BucketNotifications | None = Field(
        default=None,
        description="Event notifications to queues, topics and Lambda functions; the whole configuration is "
                    "managed (destinations not listed, and EventBridge delivery, are removed). S3 checks that "
                    "each destination lets s3.amazonaws.com send to it (a queue's or topic's policy, a function's "
                    "permission) and "
                    "refuses the configuration otherwise. Unmanaged when omitted.")
    object_lock: ObjectLock | None = Field(
        default=None,
        description="S3 Object Lock (write once, read many) and its default retention; needs versioning. "
                    "Unmanaged when omitted.")
    replication: BucketReplication | None = Field(
        default=None, description="Replication rules (needs versioning: true here and on each destination). "
                                  "Unmanaged when omitted.")
    policy: PolicyDocument | None = Field(default=None, description="The bucket policy as YAML.")
    require_tls: bool = Field(
        default=False, description="Add a statement denying any request made without TLS (aws:SecureTransport)."
    )
    tags: Tags = Field(default_factory=dict, description="Tags; the whole set is managed.")

    @model_validator(mode="after")
    def _unique_rule_ids(self) -> Self:
        seen: set[str] = set()
        for index, rule in enumerate(self.lifecycle_rules or ()):
            if rule.id in seen:
                raise FieldError(f"lifecycleRules[{index}].id", f"duplicate lifecycle rule id {rule.id!r}")
            seen.add(rule.id)
        return self

    @model_validator(mode="after")
    def _unique_tiering_ids(self) -> Self:
        seen: set[str] = set()
        for index, config in enumerate(self.intelligent_tiering_configurations or ()):
            if config.id in seen:
                raise FieldError(f"intelligentTieringConfigurations[{index}].id",
                                 f"duplicate intelligent tiering configuration id {config.id!r}")
            seen.add(config.id)
        return self


_S3 = "s3"
_S3_API = "https://docs.aws.amazon.com/AmazonS3/latest/API"
_LIFECYCLE = "LifecycleConfiguration.Rules"
_PUT_LIFECYCLE = "PutBucketLifecycleConfiguration"
_ENCRYPTION = "ServerSideEncryptionConfiguration.Rules[]"
LIFECYCLE_FILTERS_URL = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-filters.html"
# "Object size values are in bytes. Maximum filter size is 50 TB": read as TiB, the larger, so that
# trimtab never refuses a size AWS takes.
_OBJECT_SIZE = Hand(LIFECYCLE_FILTERS_URL, minimum=0, maximum=50 * 1024**4)
NAMING_URL = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html"
LIFECYCLE_URL = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html"
BUCKET_TAGS_URL = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/CostAllocTagging.html"
_POSITIVE_DAYS = Hand(f"{_S3_API}/API_LifecycleExpiration.html", minimum=1)  # "a non-zero positive integer"


def _rule(member: str, *hand: Hand, translated: str | None = None) -> Param:
    return Param(_S3, _PUT_LIFECYCLE, f"{_LIFECYCLE}[].{member}", hand, translated)


_CORS_RULE = f"{_S3_API}/API_CORSRule.html"
_CORS_METHODS_RULE = f"each one of {', '.join(CORS_METHODS)}"
_PUT_WEBSITE = "PutBucketWebsite"
_WEBSITE = "WebsiteConfiguration"
_PUT_TIERING = "PutBucketIntelligentTieringConfiguration"
_TIERING_URL = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/intelligent-tiering-managing.html"


def _cors(member: str, *hand: Hand) -> Param:
    return Param(_S3, "PutBucketCors", f"CORSConfiguration.CORSRules[].{member}", hand)


def _website(member: str, *hand: Hand) -> Param:
    return Param(_S3, _PUT_WEBSITE, f"{_WEBSITE}.{member}", hand)


def _tiering(member: str, *hand: Hand, translated: str | None = None) -> Param:
    return Param(_S3, _PUT_TIERING, f"IntelligentTieringConfiguration.{member}", hand, translated)
_PUT_NOTIFICATIONS = "PutBucketNotificationConfiguration"
_NOTIFICATION_URL = f"{_S3_API}/API_QueueConfiguration.html"  # "Events: A collection of bucket events" (required)
_ROLE_ARN = rf"^arn:{PARTITION_PATTERN}:iam::([0-9]{{12}}|\$\{{AWS::AccountId\}}):role/.+$"
_PUT_REPLICATION = "PutBucketReplication"
_REPLICATION_RULES = "ReplicationConfiguration.Rules"
_REPLICATION_URL = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-add-config.html"


def _notification_params(name: str, members: str, destination: str,
                         mapped: Param | TrimtabOnly) -> dict[str, Param | TrimtabOnly]:
    """One list of notifications.{queues, topics, lambdaFunctions}: its NotificationConfiguration member."""
    wire = f"NotificationConfiguration.{members}"
    rule = f"{wire}[].Filter.Key.FilterRules"
    return {
        f"notifications.{name}": Param(_S3, _PUT_NOTIFICATIONS, wire),
        f"notifications.{name}[].{destination}": mapped,
        f"notifications.{name}[].id": Param(_S3, _PUT_NOTIFICATIONS, f"{wire}[].Id"),
        f"notifications.{name}[].events": Param(_S3, _PUT_NOTIFICATIONS, f"{wire}[].Events", (
            Hand(_NOTIFICATION_URL, min_items=1),)),
        f"notifications.{name}[].filter": Param(_S3, _PUT_NOTIFICATIONS, rule,
                                                translated="prefix and suffix, one FilterRule each"),
        f"notifications.{name}[].filter.prefix": Param(_S3, _PUT_NOTIFICATIONS, f"{rule}[].Value",
                                                       translated="the Value of the FilterRule named prefix"),
        f"notifications.{name}[].filter.suffix": Param(_S3, _PUT_NOTIFICATIONS, f"{rule}[].Value",
                                                       translated="the Value of the FilterRule named suffix"),
    }


def _replication(member: str, *hand: Hand, translated: str | None = None) -> Param:
    return Param(_S3, _PUT_REPLICATION, f"{_REPLICATION_RULES}[].{member}", hand, translated)


BUCKET_PARAMS: ParamTable = {
    **MANAGED_PARAMS,
    "bucketName": Param(_S3, "CreateBucket", "Bucket", (Hand(
        NAMING_URL, rule="3 to 63 lowercase letters, digits, '.' and '-'; not an IP address; no reserved affixes"),)),
    # The model's enum lists the location constraints this botocore knows: us-east-1 has none, and regions
    # newer than botocore are missing, so it cannot decide; "EU" is an alias, not a region to open a client in.
    "region": Param(_S3, "CreateBucket", "CreateBucketConfiguration.LocationConstraint", (
        Hand("https://docs.aws.amazon.com/general/latest/gr/rande.html", pattern=REGION_PATTERN),),
        translated="the region; omitted in us-east-1"),
    "versioning": Param(_S3, "PutBucketVersioning", "VersioningConfiguration.Status",
                        translated="true: Enabled, false: Suspended"),
    "encryption": Param(_S3, "PutBucketEncryption", _ENCRYPTION.removesuffix("[]")),
    "encryption.type": Param(_S3, "PutBucketEncryption",
                             f"{_ENCRYPTION}.ApplyServerSideEncryptionByDefault.SSEAlgorithm",
                             translated="SSE-S3: AES256, SSE-KMS: aws:kms"),
    "encryption.kmsKeyId": Param(_S3, "PutBucketEncryption",
                                 f"{_ENCRYPTION}.ApplyServerSideEncryptionByDefault.KMSMasterKeyID"),
    "encryption.bucketKey": Param(_S3, "PutBucketEncryption", f"{_ENCRYPTION}.BucketKeyEnabled"),
    "publicAccessBlock": Param(_S3, "PutPublicAccessBlock", "PublicAccessBlockConfiguration"),
    **{f"publicAccessBlock.{name[0].lower()}{name[1:]}": Param(
        _S3, "PutPublicAccessBlock", f"PublicAccessBlockConfiguration.{name}")
       for name in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")},
    "lifecycleRules": Param(_S3, _PUT_LIFECYCLE, _LIFECYCLE, (Hand(LIFECYCLE_URL, max_items=1000),)),
    "lifecycleRules[].id": _rule("ID", Hand(f"{_S3_API}/API_LifecycleRule.html", max_length=255), Hand(
        "trimtab: the id names the rule in the spec; AWS would invent one for an empty id", min_length=1)),
    "lifecycleRules[].enabled": _rule("Status", translated="true: Enabled, false: Disabled"),
    "lifecycleRules[].prefix": _rule("Filter.Prefix", Hand(
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html", max_length=1024)),
    "lifecycleRules[].tags": _rule("Filter.And.Tags"),
    "lifecycleRules[].tags{key}": _rule("Filter.And.Tags[].Key", TAG_KEY_MAX),
    "lifecycleRules[].tags{value}": _rule("Filter.And.Tags[].Value", TAG_VALUE),
    "lifecycleRules[].objectSizeGreaterThan": _rule("Filter.ObjectSizeGreaterThan", _OBJECT_SIZE),
    "lifecycleRules[].objectSizeLessThan": _rule("Filter.ObjectSizeLessThan", _OBJECT_SIZE),
    "lifecycleRules[].expiration": _rule("Expiration"),
    "lifecycleRules[].expiration.days": _rule("Expiration.Days", _POSITIVE_DAYS),
    "lifecycleRules[].expiration.expiredObjectDeleteMarker": _rule("Expiration.ExpiredObjectDeleteMarker"),
    "lifecycleRules[].noncurrentVersionExpiration": _rule("NoncurrentVersionExpiration"),
    "lifecycleRules[].noncurrentVersionExpiration.noncurrentDays": _rule(
        "NoncurrentVersionExpiration.NoncurrentDays",
        Hand(f"{_S3_API}/API_NoncurrentVersionExpiration.html", minimum=1)),
    "lifecycleRules[].noncurrentVersionExpiration.newerNoncurrentVersions": _rule(
        "NoncurrentVersionExpiration.NewerNoncurrentVersions",
        Hand(f"{_S3_API}/API_NoncurrentVersionExpiration.html", minimum=1, maximum=100)),
    "lifecycleRules[].transitions": _rule("Transitions"),
    "lifecycleRules[].transitions[].days": _rule("Transitions[].Days", Hand(
        f"{_S3_API}/API_Transition.html", minimum=0, rule="at least 30 for STANDARD_IA and ONEZONE_IA")),
    "lifecycleRules[].transitions[].storageClass": _rule("Transitions[].StorageClass"),
    "lifecycleRules[].noncurrentVersionTransitions": _rule("NoncurrentVersionTransitions"),
    "lifecycleRules[].noncurrentVersionTransitions[].noncurrentDays": _rule(
        "NoncurrentVersionTransitions[].NoncurrentDays",
        Hand(f"{_S3_API}/API_NoncurrentVersionTransition.html", minimum=0)),
    "lifecycleRules[].noncurrentVersionTransitions[].storageClass": _rule(
        "NoncurrentVersionTransitions[].StorageClass"),
    "lifecycleRules[].abortIncompleteMultipartUpload": _rule("AbortIncompleteMultipartUpload"),
    "lifecycleRules[].abortIncompleteMultipartUpload.daysAfterInitiation": _rule(
        "AbortIncompleteMultipartUpload.DaysAfterInitiation",
        Hand(f"{_S3_API}/API_AbortIncompleteMultipartUpload.html", minimum=1)),
    "ownershipControls": Param(_S3, "PutBucketOwnershipControls", "OwnershipControls.Rules[].ObjectOwnership"),
    "logging": Param(_S3, "PutBucketLogging", "BucketLoggingStatus.LoggingEnabled"),
    "logging.targetBucketRef": TrimtabOnly("a reference: rendered as the referenced bucket's name in TargetBucket"),
    "logging.targetBucket": Param(_S3, "PutBucketLogging", "BucketLoggingStatus.LoggingEnabled.TargetBucket", (
        Hand(NAMING_URL, rule="a valid bucket name"),)),
    "logging.targetPrefix": Param(_S3, "PutBucketLogging", "BucketLoggingStatus.LoggingEnabled.TargetPrefix"),
    "cors": Param(_S3, "PutBucketCors", "CORSConfiguration.CORSRules", (Hand(
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html", max_items=100),)),
    "cors[].id": _cors("ID", Hand(_CORS_RULE, max_length=255)),
    "cors[].allowedMethods": _cors("AllowedMethods", Hand(_CORS_RULE, min_items=1, rule=_CORS_METHODS_RULE)),
    "cors[].allowedOrigins": _cors("AllowedOrigins", Hand(_CORS_RULE, min_items=1)),
    "cors[].allowedHeaders": _cors("AllowedHeaders"),
    "cors[].exposeHeaders": _cors("ExposeHeaders"),
    "cors[].maxAgeSeconds": _cors("MaxAgeSeconds", Hand(_CORS_RULE, minimum=0)),
    "website": Param(_S3, _PUT_WEBSITE, _WEBSITE, translated="{}: no website (DeleteBucketWebsite)"),
    "website.indexDocument": _website("IndexDocument.Suffix", Hand(
        f"{_S3_API}/API_IndexDocument.html", pattern="[^/]+", rule="not empty, no slash")),
    "website.errorDocument": _website("ErrorDocument.Key"),
    "website.redirectAllRequestsTo": _website("RedirectAllRequestsTo"),
    "website.redirectAllRequestsTo.hostName": _website("RedirectAllRequestsTo.HostName"),
    "website.redirectAllRequestsTo.protocol": _website("RedirectAllRequestsTo.Protocol"),
    "website.routingRules": _website("RoutingRules", Hand(
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/how-to-page-redirect.html", max_items=50)),
    "website.routingRules[].condition": _website("RoutingRules[].Condition"),
    "website.routingRules[].condition.keyPrefixEquals": _website("RoutingRules[].Condition.KeyPrefixEquals"),
    "website.routingRules[].condition.httpErrorCodeReturnedEquals": _website(
        "RoutingRules[].Condition.HttpErrorCodeReturnedEquals"),
    "website.routingRules[].redirect": _website("RoutingRules[].Redirect"),
    **{f"website.routingRules[].redirect.{name[0].lower()}{name[1:]}": _website(f"RoutingRules[].Redirect.{name}")
       for name in ("HostName", "Protocol", "ReplaceKeyPrefixWith", "ReplaceKeyWith", "HttpRedirectCode")},
    "transferAcceleration": Param(_S3, "PutBucketAccelerateConfiguration", "AccelerateConfiguration.Status",
                                  translated="true: Enabled, false: Suspended"),
    "requestPayment": Param(_S3, "PutBucketRequestPayment", "RequestPaymentConfiguration.Payer"),
    "intelligentTieringConfigurations": Param(_S3, _PUT_TIERING, "IntelligentTieringConfiguration",
                                              translated="one call per configuration"),
    "intelligentTieringConfigurations[].id": _tiering("Id"),
    "intelligentTieringConfigurations[].enabled": _tiering("Status", translated="true: Enabled, false: Disabled"),
    "intelligentTieringConfigurations[].prefix": _tiering("Filter.Prefix"),
    "intelligentTieringConfigurations[].tags": _tiering("Filter.And.Tags"),
    "intelligentTieringConfigurations[].tags{key}": _tiering("Filter.And.Tags[].Key", TAG_KEY_MAX),
    "intelligentTieringConfigurations[].tags{value}": _tiering("Filter.And.Tags[].Value", TAG_VALUE),
    "intelligentTieringConfigurations[].tierings": _tiering("Tierings", Hand(_TIERING_URL, min_items=1)),
    "intelligentTieringConfigurations[].tierings[].days": _tiering("Tierings[].Days", Hand(
        _TIERING_URL, minimum=90, maximum=730, rule="at least 180 for DEEP_ARCHIVE_ACCESS")),
    "intelligentTieringConfigurations[].tierings[].accessTier": _tiering("Tierings[].AccessTier"),
    "notifications": Param(_S3, _PUT_NOTIFICATIONS, "NotificationConfiguration"),
    **_notification_params("queues", "QueueConfigurations", "queueRef", TrimtabOnly(
        "a reference: rendered as the Queue spec's ARN in QueueArn")),
    **_notification_params("topics", "TopicConfigurations", "topicRef", TrimtabOnly(
        "a reference: rendered as the Topic spec's ARN in TopicArn")),
    **_notification_params("lambdaFunctions", "LambdaFunctionConfigurations", "lambdaFunctionArn", Param(
        _S3, _PUT_NOTIFICATIONS, "NotificationConfiguration.LambdaFunctionConfigurations[].LambdaFunctionArn", (
            Hand(f"{_S3_API}/API_LambdaFunctionConfiguration.html", pattern=rf"^arn:{PARTITION_PATTERN}:lambda:.+$"),
        ))),
    "objectLock": Param(_S3, "PutObjectLockConfiguration", "ObjectLockConfiguration"),
    "objectLock.enabled": Param(_S3, "PutObjectLockConfiguration", "ObjectLockConfiguration.ObjectLockEnabled",
                                translated="true: Enabled (also CreateBucket's ObjectLockEnabledForBucket); "
                                           "false: the bucket must not have it"),
    "objectLock.defaultRetention": Param(_S3, "PutObjectLockConfiguration",
                                         "ObjectLockConfiguration.Rule.DefaultRetention"),
    "objectLock.defaultRetention.mode": Param(_S3, "PutObjectLockConfiguration",
                                              "ObjectLockConfiguration.Rule.DefaultRetention.Mode"),
    **{f"objectLock.defaultRetention.{unit.lower()}": Param(
        _S3, "PutObjectLockConfiguration", f"ObjectLockConfiguration.Rule.DefaultRetention.{unit}", (
            Hand(f"{_S3_API}/API_DefaultRetention.html", minimum=1),)) for unit in ("Days", "Years")},
    "replication": Param(_S3, _PUT_REPLICATION, "ReplicationConfiguration"),
    "replication.role": Param(_S3, _PUT_REPLICATION, "ReplicationConfiguration.Role", (
        Hand(_REPLICATION_URL, pattern=_ROLE_ARN),)),
    "replication.rules": Param(_S3, _PUT_REPLICATION, _REPLICATION_RULES, (
        Hand(f"{_S3_API}/API_PutBucketReplication.html", max_items=1000),)),
    "replication.rules[].id": _replication("ID", Hand(f"{_S3_API}/API_ReplicationRule.html", max_length=255), Hand(
        "trimtab: the id names the rule in the spec; AWS would invent one for an empty id", min_length=1)),
    "replication.rules[].priority": _replication("Priority"),
    "replication.rules[].enabled": _replication("Status", translated="true: Enabled, false: Disabled"),
    "replication.rules[].prefix": _replication("Filter.Prefix", Hand(
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html", max_length=1024)),
    "replication.rules[].tags": _replication("Filter.And.Tags"),
    "replication.rules[].tags{key}": _replication("Filter.And.Tags[].Key", TAG_KEY_MAX),
    "replication.rules[].tags{value}": _replication("Filter.And.Tags[].Value", TAG_VALUE),
    "replication.rules[].destination": _replication("Destination"),
    "replication.rules[].destination.bucketRef": TrimtabOnly(
        "a reference: rendered as the Bucket spec's ARN in Destination.Bucket"),
    "replication.rules[].destination.bucket": _replication("Destination.Bucket", Hand(
        _REPLICATION_URL, pattern=rf"^arn:{PARTITION_PATTERN}:s3:::[a-z0-9][a-z0-9.-]{{1,61}}[a-z0-9]$")),
    "replication.rules[].destination.storageClass": _replication("Destination.StorageClass"),
    "replication.rules[].destination.account": _replication("Destination.Account"),
    "replication.rules[].deleteMarkerReplication": _replication(
        "DeleteMarkerReplication.Status", translated="true: Enabled, false: Disabled"),
    "policy": Param(_S3, "PutBucketPolicy", "Policy", translated="the document as JSON"),
    "requireTls": TrimtabOnly("adds a statement denying requests without TLS to the bucket policy"),
    **tag_params("tags", _S3, "PutBucketTagging", whole="Tagging.TagSet", keys="Tagging.TagSet[].Key",
                 values="Tagging.TagSet[].Value", count_source=BUCKET_TAGS_URL, key_hand=TAG_KEY_MAX),
}


class Bucket(Resource):
    KIND: ClassVar[str] = "Bucket"
    AWS_PARAMS: ClassVar[ParamTable] = BUCKET_PARAMS
    SUMMARY: ClassVar[str] = (
        "An S3 bucket with versioning, default encryption, public access block, lifecycle, object ownership, "
        "access logging, CORS, website hosting, transfer acceleration, request payment, intelligent tiering, "
        "event notifications, object lock, replication, policy and tags."
    )
    EXTRA_COLUMNS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("REGION", ".spec.region", "string"),
        ("DELETION", ".spec.deletionPolicy", "string"),
    )

    kind: Literal["Bucket"]
    spec: BucketSpec

    def external_name(self) -> str:
        return self.spec.bucket_name or self.metadata.name

    @model_validator(mode="after")
    def _name_rules(self) -> Self:
        problem = check_bucket_name(self.external_name())
        if problem:
            raise FieldError("spec.bucketName" if self.spec.bucket_name else "metadata.name", problem)
        return self
