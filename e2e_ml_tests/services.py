"""A throwaway PostgreSQL server on loopback (Debian's postgresql), started and stopped by tests."""

import os
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from e2e_ml.azurite import free_port


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    database: str
    username: str
    password: str


def _bin(name: str) -> str:
    found = sorted(str(path) for path in Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if not found:
        raise FileNotFoundError(f"{name} not found: install Debian's postgresql package (make test does)")
    return found[-1]


def _as_postgres(command: list[str]) -> list[str]:
    """The server refuses to run as root: as root, run it as the postgres user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class PostgresServer:
    """`with PostgresServer() as server:` a fresh cluster on a free port, its password generated."""

    def __init__(self) -> None:
        # Its own folder under /tmp: pytest's folders are private to root, whom the server is not.
        self.folder = Path(tempfile.mkdtemp(prefix="e2e-ml-postgres-"))
        self.data = self.folder / "data"
        self.server = Postgres("127.0.0.1", free_port(), "dagster", "e2eml", secrets.token_urlsafe(16))

    def __enter__(self) -> Postgres:
        password_file = self.folder / "password"
        password_file.write_text(self.server.password)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
            shutil.chown(password_file, "postgres")
        run = lambda command: subprocess.run(_as_postgres(command), check=True, capture_output=True)  # noqa: E731
        run(
            [
                _bin("initdb"),
                "-D",
                str(self.data),
                "-U",
                self.server.username,
                "--auth=scram-sha-256",
                f"--pwfile={password_file}",
            ]
        )
        password_file.unlink()
        options = f"-p {self.server.port} -h 127.0.0.1 -k {self.folder}"
        run(
            [
                _bin("pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.folder / "log"),
                "-w",
                "start",
            ]
        )
        environment = {**os.environ, "PGPASSWORD": self.server.password}
        subprocess.run(
            [
                _bin("createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.server.port),
                "-U",
                self.server.username,
                self.server.database,
            ],
            check=True,
            env=environment,
            capture_output=True,
        )
        return self.server

    def __exit__(self, *exc) -> None:
        subprocess.run(
            _as_postgres([_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]), check=False
        )
