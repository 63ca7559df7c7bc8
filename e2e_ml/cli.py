"""The `e2e-ml` command: run the whole workflow locally, or land simulated dumps."""

from __future__ import annotations

import argparse
import contextlib
import sys
from datetime import date, timedelta
from pathlib import Path

from e2e_ml.deployments import Settings
from e2e_ml.simulate.telemetry import ANOMALY_KINDS, Anomaly, SimulationConfig, simulate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="e2e-ml", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="simulate N days, run the sensor and the graph")
    demo.add_argument("--days", type=int, default=14)
    _simulation_options(demo, default_delay=3)

    sim = commands.add_parser("simulate", help="land simulated dumps in the landing zone")
    sim.add_argument("--start", type=date.fromisoformat, required=True)
    sim.add_argument("--days", type=int, default=7)
    sim.add_argument("--format", choices=["csv", "parquet", "jsonl"], default="csv")
    _simulation_options(sim)

    commands.add_parser(
        "run", help="process what is in the landing zone now: a sensor tick and its runs, oldest day first"
    )

    example = commands.add_parser(
        "example", help="land the second example dataset (parcel deliveries, hive layout, gzip'd JSON lines)"
    )
    example.add_argument("dataset", choices=["deliveries"])
    example.add_argument("--start", type=date.fromisoformat, help="first day (default: --days before today)")
    example.add_argument("--days", type=int, default=45)
    example.add_argument("--orders-per-day", type=int, default=900)
    example.add_argument("--seed", type=int, default=11)

    back = commands.add_parser(
        "backtest",
        help="run a date range through the real graph; print and save daily out-of-sample metrics "
        "against naive baselines, model versions, promotions and fallback days",
    )
    back.add_argument("--from", dest="first", type=date.fromisoformat, required=True)
    back.add_argument("--to", dest="last", type=date.fromisoformat, required=True)
    back.add_argument("--out", type=Path, help="folder for the table and summary (default: <home>/backtest)")

    contract = commands.add_parser(
        "contract", help="check a contract against files, without running anything"
    )
    contract_commands = contract.add_subparsers(dest="contract_command", required=True)
    check = contract_commands.add_parser(
        "check",
        help="per file: rows read, clean and quarantined, the top reasons with an example row; "
        "exits 1 when a file is refused or quarantines more than the allowed share",
    )
    check.add_argument("paths", nargs="+", type=Path, help="files, or folders laid out as the landing zone")
    check.add_argument("--max-quarantined", type=float, default=0.01, help="allowed share per file (0.01)")
    drafting = contract_commands.add_parser(
        "draft", help="draft a commented contract from sample files: types, ranges, roles, leakage suspects"
    )
    drafting.add_argument(
        "paths", nargs="+", type=Path, help="files, or folders laid out as the landing zone"
    )
    drafting.add_argument("--target", help="the column to predict (its values give the task)")
    drafting.add_argument("--name", default="my_dataset", help="the dataset's name in the contract")
    drafting.add_argument("--max-rows", type=int, default=100_000, help="sample at most this many rows")
    drafting.add_argument("--out", type=Path, help="write the contract here (default: standard output)")

    serving = commands.add_parser(
        "serve", help="serve the champion over HTTP (MLflow's scoring protocol), following promotions"
    )
    serving.add_argument("--host", default="127.0.0.1", help="off loopback, E2E_ML_SERVE_TOKEN is required")
    serving.add_argument("--port", type=int, default=5001)
    serving.add_argument("--refresh-seconds", type=float, default=5.0, help="how often the alias is re-read")

    model = commands.add_parser("model", help="show, pin or unpin the champion model in MLflow")
    model.add_argument("action", choices=["show", "pin", "unpin"])
    model.add_argument("version", nargs="?", help="the version to pin")

    emulator = commands.add_parser("azurite", help="run Azurite on loopback for the azurite deployment")
    emulator.add_argument("--port", type=int, default=10000)

    args = parser.parse_args(argv)
    if args.command == "azurite":
        return run_azurite(args.port)
    settings = Settings.from_env()
    if args.command == "model":
        return manage_model(settings, args.action, args.version)
    if args.command == "example":
        return land_example(settings, args)
    if args.command == "backtest":
        return run_backtest_command(settings, args)
    if args.command == "serve":
        return run_server(settings, args)
    if args.command == "contract" and args.contract_command == "draft":
        return draft_contract(settings, args)
    if args.command == "contract":
        return check_contract(settings, args.paths, args.max_quarantined)
    if args.command == "run":
        from e2e_ml.demo import run_landing_zone

        print(f"e2e-ml run on the {settings.deployment} deployment, home {settings.home}")
        return summarize(settings, run_landing_zone(settings).runs)
    anomalies = tuple(Anomaly.parse(text) for text in args.anomaly)
    if args.command == "simulate":
        from e2e_ml.simulate.land import land_in

        config = SimulationConfig(
            start=args.start,
            days=args.days,
            players=args.players,
            seed=args.seed,
            file_format=args.format,
            anomalies=anomalies,
            label_delay_days=args.label_delay_days,
        )
        landed = land_in(
            settings,
            simulate(config),
            progress=lambda d: print(f"landed {d.name} ({d.rows} rows) in the {d.zone} zone"),
        )
        print(f"{len(landed)} dumps in {settings.landing_url} and {settings.outcomes_url}")
        return 0

    from e2e_ml.demo import run_demo

    print(f"e2e-ml demo on the {settings.deployment} deployment, home {settings.home}")
    outcome = run_demo(
        settings,
        args.days,
        anomalies,
        players=args.players,
        seed=args.seed,
        label_delay_days=args.label_delay_days,
    )
    return summarize(settings, outcome.runs)


def summarize(settings: Settings, runs: list) -> int:
    """How the runs went, which alerts they raised, and where the results are."""
    from e2e_ml.demo import alerts_raised, performance_lines, where_things_are

    failed = [r for r in runs if not r.success]
    print(f"\nDone: {len(runs)} run(s), " + ("all succeeded" if not failed else f"{len(failed)} failed"))
    performance = performance_lines(settings)
    if performance:
        print("Served days: realized once their labels landed, estimated while pending, and promised")
        for line in performance:
            print("  " + line)
    alerts = alerts_raised(settings)
    print(f"Alerts raised: {len(alerts)}" + (f" (log: {settings.alert_log})" if alerts else ""))
    for alert in alerts:
        print("  " + alert)
    for line in where_things_are(settings):
        print("  " + line)
    return 1 if failed else 0


def run_backtest_command(settings: Settings, args: argparse.Namespace) -> int:
    from e2e_ml.backtest import printable, run_backtest, save

    if args.last < args.first:
        print("e2e-ml backtest: --to is before --from", file=sys.stderr)
        return 2
    print(f"e2e-ml backtest {args.first} .. {args.last} on the {settings.deployment} deployment")
    result, runs = run_backtest(settings, args.first, args.last)
    print()
    print(printable(result))
    table, summary = save(
        result, args.out or settings.home / "backtest", f"backtest_{args.first}_{args.last}"
    )
    print(f"\nSaved {table} and {summary}")
    return 1 if any(not run.success for run in runs) else 0


def sample_files(paths: list[Path]) -> list[tuple[Path, str]]:
    """Files under `paths`, each with its name relative to the folder given (for the layout)."""
    return [
        (path, path.relative_to(root).as_posix() if root.is_dir() else path.name)
        for root in paths
        for path in (sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root])
    ]


def draft_contract(settings: Settings, args: argparse.Namespace) -> int:
    """`e2e-ml contract draft`: read a bounded sample with ingest's readers, then draft."""
    from e2e_ml.core.contract_draft import draft
    from e2e_ml.core.ingest import UnreadableFileError, combine, read_file
    from e2e_ml.core.landing import layout_named

    layout = layout_named(settings.landing_layout)
    dumps, rows, landing_days = [], 0, {}
    files = sample_files(args.paths)
    for number, (path, name) in enumerate(files, start=1):
        if rows >= args.max_rows:
            break
        placed = layout.place(name, path.stat().st_size, "")
        if placed.placement == "skipped":
            continue
        if placed.day is not None:
            landing_days[name] = placed.day
        try:
            dump = read_file(name, path)
        except UnreadableFileError as error:
            print(f"  [{number}/{len(files)}] skipped, unreadable: {error}", file=sys.stderr)
            continue
        dumps.append(dump)
        rows += dump.rows.height
        print(f"  [{number}/{len(files)}] {name}: {dump.rows.height} rows", file=sys.stderr)
    if not dumps:
        print("e2e-ml contract draft: no readable file among the paths", file=sys.stderr)
        return 2
    sample = combine(dumps).head(args.max_rows)
    try:
        text = draft(sample, args.name, args.target, landing_days)
    except ValueError as error:
        print(f"e2e-ml contract draft: {error}", file=sys.stderr)
        return 2
    print(f"Drafted from {sample.height} rows of {len(dumps)} file(s)", file=sys.stderr)
    if args.out:
        args.out.write_text(text)
        print(f"Wrote {args.out}; review it, then: e2e-ml contract check", file=sys.stderr)
    else:
        print(text, end="")
    return 0


def check_contract(settings: Settings, paths: list[Path], max_quarantined: float) -> int:
    """`e2e-ml contract check`: the contract (E2E_ML_CONTRACT) against files, one line each as it goes."""
    from e2e_ml.core.contract import ContractError, load_contract
    from e2e_ml.core.contract_check import check_file
    from e2e_ml.core.landing import layout_named

    try:
        contract = load_contract(settings.contract)
    except ContractError as error:
        print(f"e2e-ml contract check: {error}", file=sys.stderr)
        return 2
    layout = layout_named(settings.landing_layout)
    files = sample_files(paths)
    missing = [str(path) for path, _ in files if not path.exists()]
    if missing:
        print(f"e2e-ml contract check: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    print(f"Checking {len(files)} file(s) against {settings.contract} (layout {settings.landing_layout})")
    failed = checked = 0
    for number, (path, name) in enumerate(files, start=1):
        placed = layout.place(name, path.stat().st_size, "")
        if placed.placement == "skipped":
            print(f"  [{number}/{len(files)}] {name}: skipped ({placed.note})")
            continue
        checked += 1
        verdict = check_file(name, path, contract, placed.day)
        ok = verdict.passes(max_quarantined)
        failed += not ok
        if verdict.refused:
            print(f"  [{number}/{len(files)}] {name}: REFUSED: {verdict.refused}")
            continue
        flag = "ok" if ok else f"FAILED: over the allowed {max_quarantined:.1%}"
        print(
            f"  [{number}/{len(files)}] {name}: {verdict.rows} rows, {verdict.clean} clean, "
            f"{verdict.quarantined} quarantined ({verdict.quarantined_share:.1%}); {flag}"
        )
        for reason in verdict.reasons:
            print(f"      {reason.rule}: {reason.rows} row(s), e.g. {reason.example[:300]}")
    print(f"{checked - failed} of {checked} file(s) checked pass" + (f"; {failed} fail" if failed else ""))
    return 1 if failed else 0


def run_server(settings: Settings, args: argparse.Namespace) -> int:
    import os

    from e2e_ml.deployments import resources_for
    from e2e_ml.serve import ChampionFollower, serve

    resources = resources_for(settings)
    contract = resources["contract"]
    follower = ChampionFollower(resources["mlflow"], contract.model_name, args.refresh_seconds)
    try:
        serve(follower, contract.load(), args.host, args.port, os.environ.get("E2E_ML_SERVE_TOKEN") or None)
    except ValueError as error:
        print(f"e2e-ml serve: {error}", file=sys.stderr)
        return 2
    return 0


def land_example(settings: Settings, args: argparse.Namespace) -> int:
    from e2e_ml.simulate.deliveries import DeliveriesConfig, deliveries
    from e2e_ml.simulate.land import land_in

    start = args.start or date.today() - timedelta(days=args.days)
    config = DeliveriesConfig(start=start, days=args.days, orders_per_day=args.orders_per_day, seed=args.seed)
    landed = land_in(settings, deliveries(config))
    rows = sum(d.rows for d in landed)
    print(
        f"{len(landed)} files, {rows} orders for {start} .. {start + timedelta(days=args.days - 1)} "
        f"in {settings.landing_url}"
    )
    if settings.landing_layout != "hive" or settings.contract.stem != "parcel_deliveries":
        print("Process them with E2E_ML_LANDING_LAYOUT=hive E2E_ML_CONTRACT=contracts/parcel_deliveries.yaml")
    return 0


def manage_model(settings: Settings, action: str, version: str | None) -> int:
    """The champion as people see it: which version serves, and holding or releasing a pin."""
    from e2e_ml.deployments import resources_for

    resources = resources_for(settings)
    tracking, model_name = resources["mlflow"], resources["contract"].model_name
    if action == "pin":
        if not version:
            print("e2e-ml model pin: give the version to pin", file=sys.stderr)
            return 2
        tracking.pin(model_name, version)
    elif action == "unpin":
        tracking.pin(model_name, None)
    champion = tracking.champion(model_name)
    pinned = " (pinned: no automatic promotion)" if tracking.is_pinned(model_name) else ""
    print(f"{model_name}: champion is version {champion.version if champion else 'none yet'}{pinned}")
    return 0


def run_azurite(port: int) -> int:
    """Serve Azurite in the foreground and write the environment that points e2e-ml at it."""
    import os
    import signal
    import threading

    from e2e_ml.azurite import Azurite

    home = Path(os.environ.get("E2E_ML_HOME", ".e2e-ml")).resolve()
    env_file = home / "azurite.env"
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with Azurite(home / "azurite", port=port) as azurite:
        env_file.touch(mode=0o600)
        env_file.write_text(
            f"E2E_ML_DEPLOYMENT=azurite\nAZURE_STORAGE_CONNECTION_STRING='{azurite.connection_string}'\n"
        )
        print(f"Azurite Blob service on {azurite.endpoint}; data in {home / 'azurite'}")
        print(f"In another shell: set -a; . {env_file}; set +a; e2e-ml demo")
        print("Ctrl-C stops it.")
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    env_file.unlink(missing_ok=True)
    return 0


def _simulation_options(parser: argparse.ArgumentParser, default_delay: int = 0) -> None:
    parser.add_argument("--players", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--label-delay-days",
        type=int,
        default=default_delay,
        help="0: every row lands with its label; N: rows land without it and an outcomes feed "
        "delivers each day's labels N days later",
    )
    parser.add_argument(
        "--anomaly",
        action="append",
        default=[],
        metavar="KIND@DAY[+N]",
        help=f"inject an anomaly on a 0-based day; KIND is one of {', '.join(ANOMALY_KINDS)}",
    )


if __name__ == "__main__":
    sys.exit(main())
