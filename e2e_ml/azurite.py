"""Azurite, the Azure Storage emulator, on a free loopback port: for tests and for people.

Each instance gets its own account and a freshly generated key (Azurite's AZURITE_ACCOUNTS),
so no key is written anywhere; the connection string exists only in this process and in the
environment it is handed to.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

ACCOUNT = "e2emldev"
PROJECT_BIN = Path(__file__).resolve().parent.parent / "node_modules" / ".bin" / "azurite-blob"


def azurite_binary() -> str:
    found = os.environ.get("AZURITE_BIN") or (str(PROJECT_BIN) if PROJECT_BIN.exists() else None)
    found = found or shutil.which("azurite-blob")
    if not found:
        raise FileNotFoundError("azurite-blob not found: run `npm ci` in the project (or set AZURITE_BIN)")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Azurite:
    """`with Azurite(folder) as azurite:` starts the Blob service and stops it on exit."""

    def __init__(self, location: Path, port: int | None = None, startup_timeout: float = 30.0):
        self.location = location
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self._key = base64.b64encode(secrets.token_bytes(32)).decode()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={self._key};"
            f"BlobEndpoint={self.endpoint};"
        )

    def start(self) -> Azurite:
        self.location.mkdir(parents=True, exist_ok=True)
        command = [
            azurite_binary(),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(self.port),
            "--location",
            str(self.location),
            "--skipApiVersionCheck",
            "--loose",
            "--silent",
        ]
        environment = {**os.environ, "AZURITE_ACCOUNTS": f"{ACCOUNT}:{self._key}"}
        log = (self.location / "azurite.log").open("ab")
        self._process = subprocess.Popen(
            command, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._wait_until_listening()
        return self

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(
                    f"Azurite exited with {self._process.returncode}; see {self.location}/azurite.log"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"Azurite did not listen on 127.0.0.1:{self.port} within {self.startup_timeout} s")

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then wait; SIGKILL if it will not exit. It refuses connections from the SIGTERM
        on and saves its metadata; a bare SIGKILL would lose containers made moments before."""
        if self._process is None or self._process.poll() is not None:
            return
        os.killpg(self._process.pid, signal.SIGTERM)
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()

    def __enter__(self) -> Azurite:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
