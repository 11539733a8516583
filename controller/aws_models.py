"""botocore's service data, loaded lean: a long-lived controller never reads the documentation, nor the
endpoints of services it does not call.

botocore loads every JSON model with OrderedDict and keeps it for the life of the process. For the
services trimtab opens that was about 15 MiB of a 10,000-spec controller's memory, much of it the
`documentation` text of shapes and operations (for docstrings and `help()` only) held in OrderedDicts
(plain dicts have kept insertion order since Python 3.7), and 4 MiB more the endpoints table of every
AWS service. This file loader reads every data file as plain dicts, drops that text from service
models and keeps the endpoints of the registered services (register_services); what botocore serialises,
parses and signs with for those services is unchanged (tests/test_lean_state.py compares).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from typing import Any

import aioboto3
from aiobotocore.session import AioSession
from botocore.loaders import JSONFileLoader, Loader, create_loader
from botocore.model import ServiceModel

# The services trimtab opens clients for beyond its kinds' (botocore's names), with their endpoint
# prefixes: the tagging API, the store, ECS (the emulator's services), and sts, sso and sso-oidc for
# credentials botocore resolves itself (role profiles, web identity, IAM Identity Center). Their prefixes
# are written here so that no process reads five service models just to learn them. The kinds' services
# are registered by controller/kinds/registry.py from their descriptors, and their prefixes read from
# their models. AwsClients refuses a service not registered.
INFRASTRUCTURE_SERVICES = {
    "resourcegroupstaggingapi": "tagging", "dynamodb": "dynamodb", "ecs": "ecs", "sts": "sts",
    "sso": "portal.sso", "sso-oidc": "oidc",
}


class _Services:
    """The registered services, and whether the endpoints table was read (it is filtered then, once)."""

    names: dict[str, None] = dict.fromkeys(INFRASTRUCTURE_SERVICES)
    endpoints_read = False


def register_services(services: Iterable[str]) -> None:
    """Let trimtab open clients for `services`: their endpoints are kept in the lean endpoints table.
    Registration must come before the table is first read (the first client opened): the kinds'
    registry registers at import, which every command that opens a kind's client does first."""
    new = [service for service in services if service not in _Services.names]
    if new and _Services.endpoints_read:
        raise RuntimeError(f"services {new} registered after botocore's endpoints were read without them")
    _Services.names.update(dict.fromkeys(new))


def registered_services() -> tuple[str, ...]:
    return tuple(_Services.names)


def endpoint_prefixes() -> dict[str, str]:
    """Each registered service's endpoint prefix: the endpoints the lean data keeps."""
    return {service: endpoint_prefix(service) for service in _Services.names}


def endpoint_prefix(service: str) -> str:
    """The key of `service` in botocore's endpoints table, from its model ("cloudwatch" -> "monitoring")."""
    if service in INFRASTRUCTURE_SERVICES:
        return INFRASTRUCTURE_SERVICES[service]
    return str(service_model(service).metadata["endpointPrefix"])


@functools.cache
def lean_loader() -> Loader:
    """The process's one botocore data loader over the lean data. botocore caches what a loader has read
    on the loader itself, so every lean session shares it, and so does the spec validation
    (controller/api/aws_params.py reads its constraints through `service_model`): each service model is
    read once per process, however many sessions and validators use it. AWS_DATA_PATH is honoured as
    botocore's own loader honours it."""
    loader = create_loader(os.environ.get("AWS_DATA_PATH"))
    loader.file_loader = LeanJSONFileLoader()
    return loader


def lean_session() -> aioboto3.Session:
    """An aioboto3 session whose botocore loader reads the lean data (see the module docstring)."""
    botocore_session = AioSession()
    botocore_session.register_component("data_loader", lean_loader())
    return aioboto3.Session(botocore_session=botocore_session)


@functools.cache
def service_model(service: str) -> ServiceModel:
    """botocore's model of `service` (e.g. "cloudwatch"), from the shared lean loader: shapes, their
    min/max/pattern/enum and operations, without documentation."""
    return ServiceModel(lean_loader().load_service_model(service, "service-2"), service_name=service)


class LeanJSONFileLoader:
    """botocore's JSONFileLoader (finding and reading the file), then plain dicts, no documentation in
    service models, and only the registered services' entries of the endpoints table."""

    def __init__(self) -> None:
        self._json = JSONFileLoader()

    def exists(self, file_path: str) -> bool:
        return bool(self._json.exists(file_path))

    def load_file(self, file_path: str) -> Any:
        data = plain(self._json.load_file(file_path))
        if isinstance(data, dict) and "partitions" in data:  # the endpoints table (or the partitions list)
            kept = set(endpoint_prefixes().values())
            for partition in data["partitions"]:
                if "services" in partition:
                    _Services.endpoints_read = True  # every AWS service's regions; 4 MiB, of which a few entries matter
                    partition["services"] = {prefix: entry for prefix, entry in partition["services"].items()
                                             if prefix in kept}
        if isinstance(data, dict) and "shapes" in data:  # a service model
            # Only where botocore reads documentation with .get(): shapes, operations and the service's
            # own text. Other sections index it (clientContextParams' `documentation` is required).
            data.pop("documentation", None)
            for section in ("shapes", "operations"):
                if section in data:
                    data[section] = plain(data[section], drop_documentation=True)
        return data


def plain(value: Any, drop_documentation: bool = False) -> Any:
    """`value` as plain dicts and lists, optionally without `documentation` strings. Only string values
    go: a shape member that happens to be named "documentation" is a mapping and stays."""
    if isinstance(value, dict):
        return {key: plain(item, drop_documentation) for key, item in value.items()
                if not (drop_documentation and key == "documentation" and isinstance(item, str))}
    if isinstance(value, list):
        return [plain(item, drop_documentation) for item in value]
    return value
