"""Static website hosting (PutBucketWebsite); `website: {}` turns hosting off (DeleteBucketWebsite)."""

from __future__ import annotations

from typing import Any

from controller.api.bucket import Bucket
from controller.kinds.base import RefResolver
from controller.kinds.bucket_parts import BucketPart, missing_is

_KEYS = ("IndexDocument", "ErrorDocument", "RedirectAllRequestsTo", "RoutingRules")


def _set(**members: Any) -> dict[str, Any]:
    return {key: value for key, value in members.items() if value is not None}


def _render(resource: Bucket, refs: RefResolver) -> dict[str, Any] | None:
    website = resource.spec.website
    if website is None:
        return None
    redirect_all = website.redirect_all_requests_to
    rules = None
    if website.routing_rules:
        rules = [_set(Condition=None if rule.condition is None else _set(
                          KeyPrefixEquals=rule.condition.key_prefix_equals,
                          HttpErrorCodeReturnedEquals=rule.condition.http_error_code_returned_equals),
                      Redirect=_set(HostName=rule.redirect.host_name, Protocol=rule.redirect.protocol,
                                    ReplaceKeyPrefixWith=rule.redirect.replace_key_prefix_with,
                                    ReplaceKeyWith=rule.redirect.replace_key_with,
                                    HttpRedirectCode=rule.redirect.http_redirect_code))
                 for rule in website.routing_rules]
    # The wire shape of WebsiteConfiguration, which GetBucketWebsite reports back member for member.
    return _set(
        IndexDocument=None if website.index_document is None else {"Suffix": website.index_document},
        ErrorDocument=None if website.error_document is None else {"Key": website.error_document},
        RedirectAllRequestsTo=None if redirect_all is None else _set(HostName=redirect_all.host_name,
                                                                     Protocol=redirect_all.protocol),
        RoutingRules=rules,
    )


async def _read(s3: Any, name: str) -> dict[str, Any]:
    response = await missing_is({}, s3.get_bucket_website(Bucket=name), {"NoSuchWebsiteConfiguration"})
    return {key: response[key] for key in _KEYS if response.get(key)}


async def _write(s3: Any, name: str, website: dict[str, Any]) -> None:
    if website:
        await s3.put_bucket_website(Bucket=name, WebsiteConfiguration=website)
    else:
        await s3.delete_bucket_website(Bucket=name)


PART = BucketPart("website", _render, _read, _write,
                  ("s3:GetBucketWebsite", "s3:PutBucketWebsite", "s3:DeleteBucketWebsite"))
