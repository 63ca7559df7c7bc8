"""The `e2e-ml` command: run the whole workflow locally, or land simulated dumps."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from e2e_ml.simulate.telemetry import ANOMALY_KINDS, Anomaly, SimulationConfig, simulate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="e2e-ml", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="simulate N days, run the sensor and the graph")
    demo.add_argument("--days", type=int, default=10)
    _simulation_options(demo)

    sim = commands.add_parser("simulate", help="land simulated dumps in the landing zone")
    sim.add_argument("--start", type=date.fromisoformat, required=True)
    sim.add_argument("--days", type=int, default=7)
    sim.add_argument("--format", choices=["csv", "parquet", "jsonl"], default="csv")
    _simulation_options(sim)

    args = parser.parse_args(argv)
    anomalies = tuple(Anomaly.parse(text) for text in args.anomaly)

    from e2e_ml.deployments import Settings

    settings = Settings.from_env()
    if args.command == "simulate":
        from e2e_ml.resources.storage import LandingZone
        from e2e_ml.simulate.land import land

        config = SimulationConfig(
            start=args.start,
            days=args.days,
            players=args.players,
            seed=args.seed,
            file_format=args.format,
            anomalies=anomalies,
        )
        landing = LandingZone(url=settings.landing_url)
        landed = land(simulate(config), landing, progress=lambda d: print(f"landed {d.name} ({d.rows} rows)"))
        print(f"{len(landed)} dumps in {settings.landing_url}")
        return 0

    from e2e_ml.demo import run_demo, where_things_are

    print(f"e2e-ml demo on the {settings.deployment} deployment, home {settings.home}")
    outcome = run_demo(settings, args.days, anomalies, players=args.players, seed=args.seed)
    failed = [r for r in outcome.runs if not r.success]
    print("\nDone: " + ("all runs succeeded" if not failed else f"{len(failed)} run(s) failed"))
    for line in where_things_are(settings):
        print("  " + line)
    return 1 if failed else 0


def _simulation_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--players", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--anomaly",
        action="append",
        default=[],
        metavar="KIND@DAY[+N]",
        help=f"inject an anomaly on a 0-based day; KIND is one of {', '.join(ANOMALY_KINDS)}",
    )


if __name__ == "__main__":
    sys.exit(main())
