"""`e2e-ml serve`: the champion as a live scoring endpoint that follows promotions.

It speaks MLflow's scoring protocol (`GET /ping`, `POST /invocations` with `dataframe_split`,
`dataframe_records` or `inputs` JSON, or CSV) so MLflow's clients and Azure ML endpoints can
call it, and answers `{"predictions": [...], "model_name": ..., "model_version": ...}`: the
scores batch scoring writes (`core.model.predict_scores`), with the version that made them.

Why not MLflow's own scoring server: it resolves `models:/<name>@champion` once, at start, and
serves that version until restarted (a restart refuses requests while the new one loads), and
its sklearn flavor answers class labels, not the probabilities batch scoring writes. So this is
a thin server over the same registry: a watcher re-reads the alias every few seconds, loads a
new champion beside the serving one, and swaps it in between two requests.
"""

from __future__ import annotations

import hmac
import io
import json
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pandas as pd
from mlflow.models import get_model_info

from e2e_ml.core.contract import Contract
from e2e_ml.resources.tracking import MlflowTracking

LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_BODY_BYTES = 5 * 2**20
NUMERIC_TYPES = ("double", "float", "long", "integer", "boolean")


class BadRequestError(ValueError):
    """A request that breaks a rule; the message names the rule and is safe to return."""


@dataclass(frozen=True)
class Champion:
    version: str
    model: Any
    columns: tuple[str, ...]  # the signature's inputs, in order
    types: dict[str, str]  # MLflow type name per input


class ChampionFollower:
    """The serving champion, re-read from the registry's alias by a background thread."""

    def __init__(self, tracking: MlflowTracking, model_name: str, refresh_seconds: float = 5.0):
        self.tracking, self.model_name, self.refresh_seconds = tracking, model_name, refresh_seconds
        self._champion: Champion | None = None
        self._stop = threading.Event()
        self.refresh()

    @property
    def champion(self) -> Champion | None:
        return self._champion

    def refresh(self) -> bool:
        """Load the alias holder if it changed; True when a new version was swapped in."""
        holder = self.tracking.champion(self.model_name)
        if holder is None or (self._champion and self._champion.version == str(holder.version)):
            return False
        version = str(holder.version)
        signature = get_model_info(f"models:/{self.model_name}/{version}").signature
        schema = signature.inputs if signature else None
        columns = tuple(schema.input_names()) if schema else ()
        types = {c.name: str(c.type.name) for c in schema.inputs} if schema else {}
        model = self.tracking.load(self.model_name, version)
        self._champion = Champion(version, model, columns, types)  # one reference: an atomic swap
        return True

    def follow(self) -> threading.Thread:
        def loop() -> None:
            while not self._stop.wait(self.refresh_seconds):
                try:
                    self.refresh()
                except Exception:  # the registry unreachable for a moment: keep serving what we have
                    continue

        thread = threading.Thread(target=loop, name="champion-follower", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()


def parse_rows(body: bytes, content_type: str) -> pd.DataFrame:
    """A request body in MLflow's scoring formats, as a frame."""
    if content_type.startswith("text/csv"):
        try:
            return pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False, na_values=[""])
        except (ValueError, pd.errors.ParserError) as error:
            raise BadRequestError(f"malformed CSV: {error}") from None
    if not content_type.startswith("application/json"):
        raise BadRequestError(f"content type {content_type or 'none'}: send application/json or text/csv")
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BadRequestError(f"malformed JSON: {error}") from None
    if not isinstance(payload, dict):
        raise BadRequestError(
            "the JSON body must be an object with dataframe_split, dataframe_records or inputs"
        )
    try:
        if "dataframe_split" in payload:
            split = payload["dataframe_split"]
            return pd.DataFrame(split["data"], columns=split["columns"])
        if "dataframe_records" in payload:
            return pd.DataFrame.from_records(payload["dataframe_records"])
        if "inputs" in payload:
            inputs = payload["inputs"]
            return pd.DataFrame(inputs) if isinstance(inputs, dict) else pd.DataFrame.from_records(inputs)
    except (KeyError, TypeError, ValueError) as error:
        raise BadRequestError(f"malformed input frame: {error}") from None
    raise BadRequestError("the JSON body needs one of dataframe_split, dataframe_records, inputs")


def model_inputs(rows: pd.DataFrame, champion: Champion, contract: Contract) -> pd.DataFrame:
    """The rows as the model's inputs, typed as batch scoring types them; every broken rule is a
    BadRequestError naming the column and, for values, the first offending row."""
    if rows.empty:
        raise BadRequestError("no rows to score")
    missing = [c for c in champion.columns if c not in rows]
    extra = [c for c in rows if c not in champion.columns]
    if missing or extra:
        parts = [f"missing column(s): {', '.join(missing)}"] if missing else []
        parts += [f"unexpected column(s): {', '.join(map(str, extra))}"] if extra else []
        raise BadRequestError("; ".join(parts) + f" (the model takes {', '.join(champion.columns)})")
    typed = {}
    for column in champion.columns:
        values = rows[column]
        blank = values.isna().to_numpy() | (values == "").to_numpy()
        if champion.types.get(column) in NUMERIC_TYPES:
            numbers = pd.to_numeric(values.where(~blank), errors="coerce").to_numpy(dtype="float64")
            wrong = np.isnan(numbers) & ~blank
            if wrong.any():
                row = int(np.flatnonzero(wrong)[0])
                raise BadRequestError(
                    f"column {column}: expected a number ({champion.types[column]}), "
                    f"got {values.iloc[row]!r} in row {row}"
                )
            typed[column] = numbers
        else:
            text = values.to_numpy(dtype=object)
            allowed = _allowed_values(contract, column)
            outside = (
                ~blank & ~np.isin(text.astype(str), list(allowed)) if allowed else np.zeros(len(text), bool)
            )
            if outside.any():
                row = int(np.flatnonzero(outside)[0])
                raise BadRequestError(
                    f"column {column}: {text[row]!r} in row {row} is not among the contract's "
                    f"values ({', '.join(sorted(allowed))})"
                )
            strings = text.astype(str).astype(object)
            strings[blank] = np.nan  # missing, as batch scoring passes it
            typed[column] = strings
    return pd.DataFrame(typed, index=rows.index)


def _allowed_values(contract: Contract, column: str) -> set[str]:
    if column not in contract.schema.columns:
        return set()
    for check in contract.schema.columns[column].checks:
        allowed = check.statistics.get("allowed_values")
        if allowed is not None:
            return {str(value) for value in allowed}
    return set()


def score(champion: Champion, inputs: pd.DataFrame, contract: Contract) -> np.ndarray:
    """The same scores as batch scoring: the positive class's probability, or the value."""
    if contract.roles.task == "classification":
        return np.asarray(champion.model.predict_proba(inputs))[:, 1]
    return np.asarray(champion.model.predict(inputs), dtype=float)


def make_server(
    follower: ChampionFollower,
    contract: Contract,
    host: str = "127.0.0.1",
    port: int = 5001,
    token: str | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> ThreadingHTTPServer:
    """The HTTP server; off loopback it refuses to start without a bearer token."""
    if host not in LOOPBACK and not token:
        raise ValueError(
            f"serving on {host} needs a bearer token (E2E_ML_SERVE_TOKEN), or run it behind the "
            "platform's authentication (an Azure ML managed endpoint, Container Apps ingress) on loopback"
        )

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # kept-alive connections, as clients with sessions use
        disable_nagle_algorithm = True  # headers and body leave at once, not 40 ms apart

        def log_message(self, format: str, *args: Any) -> None:
            return  # one line per request is the platform's access log's job, not stderr's

        def _send(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _authorized(self) -> bool:
            if not token:
                return True
            given = self.headers.get("Authorization", "")
            return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())

        def do_GET(self) -> None:
            if self.path == "/ping":
                champion = follower.champion
                status = HTTPStatus.OK if champion else HTTPStatus.SERVICE_UNAVAILABLE
                self._send(status, {"status": "ok" if champion else "no champion yet"})
            elif self.path == "/version":
                champion = follower.champion
                self._send(
                    HTTPStatus.OK,
                    {
                        "model_name": follower.model_name,
                        "model_version": champion.version if champion else None,
                    },
                )
            else:
                self._send(HTTPStatus.NOT_FOUND, {"error": f"no {self.path}: use /ping or /invocations"})

        def do_POST(self) -> None:
            if self.path != "/invocations":
                self._send(HTTPStatus.NOT_FOUND, {"error": f"no {self.path}: POST /invocations"})
                return
            if not self._authorized():
                self._send(HTTPStatus.UNAUTHORIZED, {"error": "a valid bearer token is required"})
                return
            length = self.headers.get("Content-Length")
            if length is None or not length.isdigit():
                self._send(HTTPStatus.LENGTH_REQUIRED, {"error": "send a Content-Length"})
                return
            if int(length) > max_body_bytes:
                self.close_connection = True  # the body is not read
                self._send(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    {"error": f"body of {length} bytes over the limit of {max_body_bytes}"},
                )
                return
            body = self.rfile.read(int(length))
            champion = follower.champion  # one champion for the whole request, even mid-swap
            if champion is None:
                self._send(HTTPStatus.SERVICE_UNAVAILABLE, {"error": "no champion yet"})
                return
            try:
                inputs = model_inputs(
                    parse_rows(body, self.headers.get("Content-Type", "")), champion, contract
                )
            except BadRequestError as error:
                self._send(HTTPStatus.BAD_REQUEST, {"error": str(error)})
                return
            scores = score(champion, inputs, contract)
            self._send(
                HTTPStatus.OK,
                {
                    "predictions": scores.tolist(),
                    "model_name": follower.model_name,
                    "model_version": champion.version,
                },
            )

    return ThreadingHTTPServer((host, port), Handler)


def serve(
    follower: ChampionFollower,
    contract: Contract,
    host: str,
    port: int,
    token: str | None,
    report: Any = print,
) -> None:
    """Serve until interrupted, following the alias."""
    server = make_server(follower, contract, host, port, token)
    follower.follow()
    champion = follower.champion
    report(
        f"Serving {follower.model_name} (champion: version {champion.version if champion else 'none yet'}) "
        f"on http://{host}:{server.server_address[1]}/invocations; the alias is re-read every "
        f"{follower.refresh_seconds:g} s"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        follower.stop()
        server.server_close()
