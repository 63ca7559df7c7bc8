"""Timestamps in every common form, read as instants in UTC (the lake's one representation).

Forms: ISO-8601 with `Z` or a `+hh:mm` / `+hhmm` offset, ISO-8601 without an offset (read in
the contract's zone: a system that writes local time writes its business zone's), a bare date
(midnight in that zone), and numbers since 1970-01-01 UTC where the contract says so.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import polars as pl

from e2e_ml.core.contract import LAKE_TIME_ZONE, EpochUnit

DATE_FORMAT = "%Y-%m-%d"
NAIVE_FORMATS = (DATE_FORMAT, "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M")
OFFSET_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%z")


def strict_instant(text: pl.Expr, zone: str, epoch: EpochUnit | None) -> pl.Expr:
    """The common forms, parsed exactly; anything else is null here and read leniently."""
    if epoch is not None:
        return _from_epoch(text.cast(pl.Int64, strict=False), epoch)
    return _first_form(
        text, [lambda t: _in_zone(t, DATE_FORMAT, zone), lambda t: _with_offset(t, OFFSET_FORMATS[0])]
    )


def lenient_instant(text: pl.Expr, zone: str, epoch: EpochUnit | None) -> pl.Expr:
    """Every accepted form, tried in turn, on values the strict parse could not read."""
    if epoch is not None:
        return _from_epoch(text.cast(pl.Float64, strict=False), epoch)
    return _first_form(
        text,
        [
            *(partial(_with_offset, form=form) for form in OFFSET_FORMATS),
            *(partial(_in_zone, form=form, zone=zone) for form in NAIVE_FORMATS),
        ],
    )


def _first_form(text: pl.Expr, parsers: list[Callable[[pl.Expr], pl.Expr]]) -> pl.Expr:
    """The first parser's value that is not null; each later parser sees only the values the
    earlier ones could not read, since polars computes an expression on every row."""
    value = parsers[0](text)
    for parser in parsers[1:]:
        value = pl.coalesce(value, parser(pl.when(value.is_null()).then(text)))
    return value


def local_dates(instants: pl.Expr, zone: str) -> pl.Expr:
    """The calendar day of each instant in `zone`: the business day a row belongs to."""
    return instants.dt.convert_time_zone(zone).dt.date()


def _with_offset(text: pl.Expr, form: str) -> pl.Expr:
    return (
        text.str.replace(r"[zZ]$", "+00:00")
        .str.to_datetime(form, time_unit="ns", time_zone=LAKE_TIME_ZONE, strict=False)
        .dt.convert_time_zone(LAKE_TIME_ZONE)
    )


def _in_zone(text: pl.Expr, form: str, zone: str) -> pl.Expr:
    """A local wall-clock time: on a daylight-saving change, a repeated hour reads as its first
    occurrence and a skipped one is not a time at all (null, then rejected with its value)."""
    naive = text.str.to_datetime(form, time_unit="ns", strict=False)
    return naive.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null").dt.convert_time_zone(
        LAKE_TIME_ZONE
    )


def _from_epoch(number: pl.Expr, unit: EpochUnit) -> pl.Expr:
    scale = 1_000_000_000 if unit == "seconds" else 1_000_000
    nanoseconds = (number * scale).cast(pl.Int64, strict=False)
    return nanoseconds.cast(pl.Datetime("ns")).dt.replace_time_zone(LAKE_TIME_ZONE)
