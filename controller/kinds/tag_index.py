"""Tags of many resources in few calls, through the Resource Groups Tagging API.

A queue's, alarm's or bucket's own tag read costs one call per resource, which made tags the largest
share of a steady-state resync. GetResources takes up to 100 ARNs per call; concurrent observes share
one call through a BatchLoader.

The tagging API is an index that AWS updates asynchronously, so it is trusted only when it agrees
with the desired tags. Any disagreement (drift, a lagging index, a resource the index does not list,
a failed call) is settled by the service's own tag read before anything acts on it. The one thing the
index can hide is a tag change made in the last moments before a resync; the next resync sees it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from controller.aws import AwsClients
from controller.kinds.batching import BatchLoader

ARNS_PER_CALL = 100  # GetResources takes at most 100 ARNs
# Longer than the other loaders' window: tag reads come after each kind's own read, spread out in
# time, and a resync's worth of them should share calls. It adds at most this to one observe.
WINDOW_SECONDS = 0.05
Tags = dict[str, str]


class TagIndex:
    def __init__(self, aws: AwsClients) -> None:
        self.aws = aws
        self._loaders: dict[str, BatchLoader[str, Tags]] = {}

    async def tags(
        self, arn: str, region: str, desired: Mapping[str, str] | None, authoritative: Callable[[], Awaitable[Tags]]
    ) -> Tags:
        """The resource's tags: from the index when it shows exactly `desired`, else from `authoritative`."""
        if desired is not None:
            try:
                indexed = await self._loader(region).load(arn)
            except (ClientError, BotoCoreError, ResponseParserError):
                indexed = None  # counted in the AWS error metrics; the service's own read still answers
            if indexed is not None and _own(indexed) == dict(desired):
                return indexed
        return await authoritative()

    def _loader(self, region: str) -> BatchLoader[str, Tags]:
        loader = self._loaders.get(region)
        if loader is None:
            async def fetch(arns: list[str]) -> dict[str, Tags]:
                return await self._fetch(region, arns)

            loader = self._loaders[region] = BatchLoader(fetch, ARNS_PER_CALL, WINDOW_SECONDS)
        return loader

    async def _fetch(self, region: str, arns: list[str]) -> dict[str, Tags]:
        client = await self.aws.client("resourcegroupstaggingapi", region)
        found: dict[str, Tags] = {}
        request: dict[str, object] = {"ResourceARNList": arns}
        while True:
            page = await client.get_resources(**request)
            for mapping in page.get("ResourceTagMappingList", []):
                found[mapping["ResourceARN"]] = {tag["Key"]: tag["Value"] for tag in mapping.get("Tags", [])}
            token = page.get("PaginationToken")
            if not token:
                return found
            # moto gap: it pages an ARN list (50 resources or 100 tags a page), which AWS does not; a
            # follow-up carries the token alone, as AWS forbids a token alongside ResourceARNList.
            request = {"PaginationToken": token}


def _own(tags: Mapping[str, str]) -> dict[str, str]:
    """The tags trimtab manages: AWS's own aws: tags are not ours to compare."""
    return {key: value for key, value in tags.items() if not key.startswith("aws:")}
