"""Real Hotline processes for the benchmark and the fault tests: `hotline serve` and
`hotline worker delivery` started as subprocesses against one PostgreSQL and one Redis."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

HOTLINE = str(Path(sys.executable).with_name("hotline"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Process:
    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path, port: int | None = None) -> None:
        self.name, self.args, self.env, self.port = name, args, env, port
        self.log_path = log_dir / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Process:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it
        self.popen = subprocess.Popen(self.args, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        log.close()
        return self

    def wait_ready(self, timeout: float = 60.0) -> Process:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen is not None and self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-3000:]}")
            if self.port is None:
                return self
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready: {self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no clean-up, as when a machine dies."""
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()


class Cluster:
    """Web processes and delivery workers sharing `env` (DATABASE_URL, HOTLINE_REDIS_URL, channels)."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_") and k != "DATABASE_URL"}
        self.env.update({"HOTLINE_RUN_WORKERS": "false", "HOTLINE_AUTO_MIGRATE": "false", "HOTLINE_LOG_FORMAT": "json",
                         "HOTLINE_LOG_LEVEL": "WARNING", **env})
        self.log_dir = log_dir
        self.processes: list[Process] = []
        self._count = 0

    def web(self, *, processes: int = 1) -> Process:
        port = free_port()
        self._count += 1
        args = [HOTLINE, "serve", "--port", str(port), "--processes", str(processes)]
        process = Process(f"web{self._count}", args, self.env, self.log_dir, port)
        self.processes.append(process.start())
        return process

    def delivery(self) -> Process:
        self._count += 1
        process = Process(f"delivery{self._count}", [HOTLINE, "worker", "delivery"], self.env, self.log_dir)
        self.processes.append(process.start())
        return process

    def stop(self) -> None:
        for process in self.processes:
            process.stop()
