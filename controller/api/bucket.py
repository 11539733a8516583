"""Bucket: an S3 general-purpose bucket with versioning, encryption, public access block,
lifecycle rules, object ownership, server access logging, CORS, static website hosting, transfer
acceleration, request payment, Intelligent-Tiering archive configurations, a policy and tags."""

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
    SpecModel,
    Tags,
    tag_params,
)

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
        "policy and tags."
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
