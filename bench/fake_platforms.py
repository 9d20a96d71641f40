"""The fake Telegram and WeChat APIs in a process of their own, for the load benchmark.

In the generator's process their servers would share its interpreter lock: every reply delivered
would slow the posting of the next message, and the latencies measured would be the generator's.
`CLOCK_MONOTONIC` is one clock for the whole machine, so the moments they record compare with the
generator's.
"""

from __future__ import annotations

import gc
import multiprocessing
from multiprocessing.connection import Connection
from typing import Any

from tests.bots.platforms import TELEGRAM_TOKEN, WECHAT_APP_ID, WECHAT_SECRET, FakeTelegram, FakeWeChat


def _serve(pipe: Connection) -> None:
    telegram, wechat = FakeTelegram(TELEGRAM_TOKEN), FakeWeChat(WECHAT_APP_ID, WECHAT_SECRET)
    telegram.start()
    wechat.start()
    gc.freeze()  # as the generator: a full collection's pause would count as a delivery's latency
    pipe.send((telegram.url, wechat.url))
    while (command := pipe.recv()) != "stop":
        if command == "telegram_sends":
            pipe.send([(str(call.params["chat_id"]), call.at) for call in telegram.sent()])
        elif command == "wechat_pushes":
            pipe.send(len(wechat.custom_messages()))
    telegram.stop()
    wechat.stop()
    pipe.send("stopped")


class FakePlatformsProcess:
    def __init__(self) -> None:
        self._pipe, child = multiprocessing.get_context("spawn").Pipe()
        self._process = multiprocessing.get_context("spawn").Process(target=_serve, args=(child,), daemon=True)
        self.telegram_url = self.wechat_url = ""

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def start(self) -> FakePlatformsProcess:
        self._process.start()
        if not self._pipe.poll(60):
            raise RuntimeError("the fake platforms did not start")
        self.telegram_url, self.wechat_url = self._pipe.recv()
        return self

    def _ask(self, command: str) -> Any:
        self._pipe.send(command)
        return self._pipe.recv()

    def telegram_sends(self) -> list[tuple[str, float]]:
        """(chat id, when it arrived) of every sendMessage, in arrival order."""
        return list(self._ask("telegram_sends"))

    def wechat_pushes(self) -> int:
        return int(self._ask("wechat_pushes"))

    def stop(self) -> None:
        if self._process.is_alive():
            self._ask("stop")
            self._process.join(15)
