"""An NLU reload goes through the arq queue: the NLU worker loads the model, then every web process
switches to it."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path
from unittest import mock

from api.config import Settings
from api.workers import enqueue_nlu_reload, nlu_worker
from tests.conftest import LiveServer
from tests.fakes import FakeNlu


async def test_a_reload_queued_reaches_the_web_process(pg_url: str, redis_url: str, tmp_path: Path) -> None:
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=pg_url, data_dir=tmp_path, auto_migrate=False, redis_url=redis_url,
        redis_namespace=namespace,
    )
    with LiveServer(settings, FakeNlu()) as web:
        runtime = web.app.state.runtime
        assert isinstance(runtime.nlu.nlu, FakeNlu)
        await enqueue_nlu_reload(settings, None)
        # The worker reads its settings from the environment, as `hotline worker nlu` does.
        environment = {"HOTLINE_REDIS_URL": redis_url, "HOTLINE_REDIS_NAMESPACE": namespace}
        with mock.patch.dict(os.environ, environment):
            worker = nlu_worker(settings, burst=True)
            await worker.async_run()
            await worker.close()
        assert worker.jobs_complete == 1 and worker.jobs_failed == 0
        deadline = time.monotonic() + 20
        while isinstance(runtime.nlu.nlu, FakeNlu):
            assert time.monotonic() < deadline, "the web process kept its old model"
            await asyncio.sleep(0.1)
        assert runtime.nlu.analyze("朝阳区望京街道垃圾没人清理").location is not None
