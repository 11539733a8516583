"""S3 static website hosting: which members of a website configuration go together.

Source: https://docs.aws.amazon.com/AmazonS3/latest/API/API_WebsiteConfiguration.html ("If you specify
RedirectAllRequestsTo, you can't specify any other property") and
https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketWebsite.html (a configuration that is no
redirect of every request needs an IndexDocument). An empty `website: {}` is no configuration: hosting off.
"""

from __future__ import annotations

from collections.abc import Iterator

from controller.api.bucket import Bucket
from controller.api.rules.base import Violation, rule

# The members of a website that serves the bucket's objects: (attribute, spec field).
_SERVED = (("index_document", "indexDocument"), ("error_document", "errorDocument"), ("routing_rules", "routingRules"))


@rule(Bucket)
def redirect_all_requests_stands_alone(bucket: Bucket) -> Iterator[Violation]:
    """"If you specify RedirectAllRequestsTo, you can't specify any other property."
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_WebsiteConfiguration.html"""
    website = bucket.spec.website
    if website is None or website.redirect_all_requests_to is None:
        return
    for attribute, field in _SERVED:
        if getattr(website, attribute) is not None:
            yield Violation(("spec", "website", field),
                            f"{field} cannot be combined with redirectAllRequestsTo, which redirects every request")


@rule(Bucket)
def served_website_has_an_index_document(bucket: Bucket) -> Iterator[Violation]:
    """A website that serves the bucket's objects needs an IndexDocument; an error document and routing
    rules belong to such a website. https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketWebsite.html"""
    website = bucket.spec.website
    if website is None or website.redirect_all_requests_to is not None or website.index_document is not None:
        return
    for attribute, field in _SERVED[1:]:
        if getattr(website, attribute) is not None:
            yield Violation(("spec", "website", field), f"{field} needs indexDocument, the website's index page")
