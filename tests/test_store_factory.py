"""The store factory (controller/store/__init__.py), the one place that names the backends: what it
opens for each `--store`, and that only the shared one has leases."""

from __future__ import annotations

from pathlib import Path

import aioboto3
import pytest

from controller.aws import AwsClients, AwsSettings
from controller.emulator import EMULATOR_CREDENTIALS, LocalEmulator
from controller.store import StoreNotFound, has_local_state, init_shared_store, open_store
from controller.store.base import LeaseStore
from tests.conftest import REGION

URL = "dynamodb://trimtab-factory"


async def test_each_store_url_opens_its_backend(moto: LocalEmulator, tmp_path: Path) -> None:
    settings = AwsSettings(region=REGION, endpoint_url=moto.url, static_credentials=EMULATOR_CREDENTIALS)
    async with AwsClients(settings, session=aioboto3.Session()) as aws:
        assert not has_local_state(tmp_path)
        local = await open_store(None, tmp_path, aws)
        try:
            assert has_local_state(tmp_path)
            assert not isinstance(local, LeaseStore)  # one task: nothing to share, no sharding
        finally:
            local.close()

        with pytest.raises(StoreNotFound) as missing:
            await open_store(URL, tmp_path, aws)
        assert missing.value.table == "trimtab-factory"
        assert await init_shared_store(URL, aws)  # created here
        assert not await init_shared_store(URL, aws)  # and found, the second time
        shared = await open_store(URL, tmp_path, aws)
        assert isinstance(shared, LeaseStore)
        shared.close()
