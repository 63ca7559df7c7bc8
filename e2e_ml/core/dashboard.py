"""The self-contained HTML dashboard: Vega-Lite charts (Altair) with their JavaScript inline.

No CDN, no server: the page opens from a file or from Blob static hosting. Each chart has a
title, a one-line story, units and dates, and says so when it has nothing to show yet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

import altair as alt
import pandas as pd
import vl_convert

from e2e_ml.core.contract import Task
from e2e_ml.core.performance import outcomes_by_day

WIDTH = 720
MIN_SEGMENT_ROWS = 30  # a metric on fewer rows is noise, not a finding


@dataclass(frozen=True)
class Section:
    title: str
    story: str
    chart: alt.TopLevelMixin


def build_dashboard(
    task: Task,
    daily: pd.DataFrame,
    versions: pd.DataFrame,
    quality: pd.DataFrame,
    drift: pd.DataFrame,
    alerts: pd.DataFrame,
    importance: pd.DataFrame | None = None,
    segments: pd.DataFrame | None = None,
    realized: pd.DataFrame | None = None,
    title: str = "e2e-ml predictions",
    target: str = "the target",
) -> str:
    """The page; `target` names what is predicted (the contract's target column) in its stories."""
    sections = [
        _predictions(daily, task, target),
        _outcomes(
            daily if realized is None or realized.empty else outcomes_by_day(realized, task), task, target
        ),
        _realized(pd.DataFrame() if realized is None else realized, task),
        _models(versions, task),
        _importance(pd.DataFrame() if importance is None else importance, task),
        _segments(pd.DataFrame() if segments is None else segments, task),
        _volume(quality),
        _drift(drift),
        _alerts(alerts),
    ]
    return _page(title, sections, alerts)


def _empty(message: str) -> alt.Chart:
    return (
        alt.Chart(pd.DataFrame({"message": [message]}))
        .mark_text(size=14, color="#666")
        .encode(text="message:N")
        .properties(width=WIDTH, height=60)
    )


def _days(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(date=pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d"))


def _predictions(daily: pd.DataFrame, task: Task, target: str) -> Section:
    story = (
        f"Rows scored each day, and the share the model flags as positive for {target}."
        if task == "classification"
        else f"Rows scored each day, and the mean predicted {target}."
    )
    if daily.empty:
        return Section("Predictions per day", story, _empty("No predictions yet"))
    data = _days(daily)
    base = alt.Chart(data).encode(x=alt.X("date:O", title="Day"))
    bars = base.mark_bar(color="#9ecae1").encode(
        y=alt.Y("rows:Q", title="Rows scored"), tooltip=["date", "rows", "model_versions"]
    )
    second = "predicted_positive_rate" if task == "classification" else "mean_score"
    label = f"Flagged {target} (share)" if task == "classification" else "Mean prediction"
    line = base.mark_line(point=True, color="#d62728").encode(
        y=alt.Y(f"{second}:Q", title=label, axis=alt.Axis(format=".0%" if task == "classification" else "")),
        tooltip=["date", alt.Tooltip(f"{second}:Q", format=".3f")],
    )
    chart = alt.layer(bars, line).resolve_scale(y="independent").properties(width=WIDTH, height=220)
    return Section("Predictions per day", story, chart)


def _outcomes(daily: pd.DataFrame, task: Task, target: str) -> Section:
    if task == "classification":
        story = (
            f"Once outcomes are known: the mean predicted probability of {target} against the rate observed."
        )
        columns = {"mean_score": "predicted", "actual_positive_rate": "actual"}
    else:
        story = "Once outcomes are known: the realised error (RMSE) of each day's predictions."
        columns = {"rmse": "RMSE"}
    known = daily.dropna(subset=[list(columns)[-1]]) if len(daily) else daily
    if known.empty or (task == "classification" and known["actual_positive_rate"].isna().all()):
        return Section("Actual vs predicted", story, _empty("No outcomes known yet"))
    data = (
        _days(known)
        .rename(columns=columns)
        .melt(
            id_vars=["date", "roc_auc"],
            value_vars=list(columns.values()),
            var_name="series",
            value_name="value",
        )
    )
    chart = (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("date:O", title="Day"),
            y=alt.Y("value:Q", title=f"{target} rate" if task == "classification" else "RMSE"),
            color=alt.Color("series:N", title=None),
            tooltip=[
                "date",
                "series",
                alt.Tooltip("value:Q", format=".3f"),
                alt.Tooltip("roc_auc:Q", format=".3f"),
            ],
        )
        .properties(width=WIDTH, height=220)
    )
    return Section("Actual vs predicted", story, chart)


def _realized(realized: pd.DataFrame, task: Task) -> Section:
    metric = "ROC AUC" if task == "classification" else "RMSE"
    story = (
        f"How each served day did ({metric}): realized once its labels landed, estimated from the "
        "scores while they are pending (classification), against what the serving model promised "
        "on its holdout day and the naive baseline it had to beat."
    )
    series = {"realized": "realized", "estimated": "estimated", "holdout": "promised", "baseline": "naive"}
    if realized.empty:
        return Section("Realized performance", story, _empty("Nothing served yet"))
    data = (
        realized.assign(date=pd.to_datetime(realized["day"]).dt.strftime("%Y-%m-%d"))
        .rename(columns=series)
        .melt(
            id_vars=["date", "model_version", "labelled_share"],
            value_vars=list(series.values()),
            var_name="series",
            value_name="value",
        )
        .dropna(subset=["value"])
    )
    chart = (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("date:O", title="Served day"),
            y=alt.Y("value:Q", title=metric, scale=alt.Scale(zero=False)),
            color=alt.Color("series:N", title=None, sort=list(series.values())),
            strokeDash=alt.StrokeDash("series:N", legend=None, sort=list(series.values())),
            tooltip=[
                "date",
                "series",
                "model_version",
                alt.Tooltip("value:Q", format=".3f"),
                alt.Tooltip("labelled_share:Q", format=".0%", title="labelled"),
            ],
        )
        .properties(width=WIDTH, height=220)
    )
    return Section("Realized performance", story, chart)


def _models(versions: pd.DataFrame, task: Task) -> Section:
    metric = "metric_roc_auc" if task == "classification" else "metric_rmse"
    story = (
        "Each trained version on its holdout day; green points were promoted to champion. Dashed: "
        "the naive rate per segment; dotted: the naive constant. A model must beat the stronger one."
    )
    if versions.empty or metric not in versions:
        return Section("Model versions", story, _empty("No model trained yet"))
    data = versions.assign(
        version=versions["model_version"].astype(int),
        decision=versions["promoted"].map({True: "promoted", False: "not promoted"}),
    )
    base = alt.Chart(data).encode(x=alt.X("version:O", title="Model version"))
    points = base.mark_point(size=90, filled=True).encode(
        y=alt.Y(
            f"{metric}:Q",
            title="ROC AUC (holdout)" if task == "classification" else "RMSE (holdout)",
            scale=alt.Scale(zero=False),
        ),
        color=alt.Color(
            "decision:N",
            title=None,
            scale=alt.Scale(domain=["promoted", "not promoted"], range=["#2ca02c", "#bbbbbb"]),
        ),
        tooltip=["version", "partition", "decision", alt.Tooltip(f"{metric}:Q", format=".4f")],
    )
    layers = [points]
    name = metric.removeprefix("metric_")
    for baseline, dash in (
        (f"metric_baseline_segment_{name}", [6, 3]),
        (f"metric_baseline_constant_{name}", [1, 3]),
    ):
        if baseline in data:
            layers.append(base.mark_line(strokeDash=dash, color="#888").encode(y=f"{baseline}:Q"))
    return Section("Model versions", story, alt.layer(*layers).properties(width=WIDTH, height=220))


def _importance(importance: pd.DataFrame, task: Task) -> Section:
    lost = "ROC AUC" if task == "classification" else "RMSE"
    story = (
        f"What the champion relies on: how much its {lost} on its holdout day worsens when one input "
        "is shuffled (permutation importance; near 0: unused)."
    )
    if importance.empty:
        return Section("What the model uses", story, _empty("No champion yet"))
    chart = (
        alt.Chart(importance)
        .mark_bar(color="#4c78a8")
        .encode(
            x=alt.X("importance:Q", title=f"{lost} lost when shuffled"),
            y=alt.Y("feature:N", sort="-x", title=None),
            tooltip=["feature", alt.Tooltip("importance:Q", format=".4f"), "model_version"],
        )
        .properties(width=WIDTH, height=22 * len(importance))
    )
    return Section("What the model uses", story, chart)


def _segments(segments: pd.DataFrame, task: Task) -> Section:
    metric = "roc_auc" if task == "classification" else "rmse"
    column = str(segments["segment_column"].iloc[0]) if len(segments) else "segment"
    story = (
        f"Where the champion errs: its {'ROC AUC' if metric == 'roc_auc' else 'RMSE'} on its holdout "
        f"day per {column} (its most important input that splits a day into few segments; "
        f"the 25 largest of at least {MIN_SEGMENT_ROWS} rows)."
    )
    if segments.empty or metric not in segments:
        return Section("Quality by segment", story, _empty("No champion yet"))
    judged = segments[(segments["rows"] >= MIN_SEGMENT_ROWS) & segments[metric].notna()]
    if judged.empty:
        return Section("Quality by segment", story, _empty(f"No segment of {MIN_SEGMENT_ROWS} rows or more"))
    top = judged.nlargest(25, "rows")
    chart = (
        alt.Chart(top)
        .mark_bar(color="#72b7b2")
        .encode(
            x=alt.X(f"{metric}:Q", title=metric.upper().replace("_", " "), scale=alt.Scale(zero=False)),
            y=alt.Y("segment:N", sort="-x", title=column),
            tooltip=[
                "segment",
                "rows",
                alt.Tooltip(f"{metric}:Q", format=".3f"),
                "actual_mean",
                "score_mean",
            ],
        )
        .properties(width=WIDTH, height=18 * len(top))
    )
    return Section("Quality by segment", story, chart)


def _volume(quality: pd.DataFrame) -> Section:
    story = "Rows landed each day: clean rows flow on, quarantined rows are kept with the rule they broke."
    if quality.empty:
        return Section("Data volume and rejected rows", story, _empty("No data landed yet"))
    per_day = quality.groupby("day", as_index=False).agg(
        clean=("clean", "sum"),
        quarantined=("quarantined", "sum"),
        refused_files=("status", lambda s: int((s == "refused").sum())),
    )
    data = per_day.melt(
        id_vars=["day", "refused_files"],
        value_vars=["clean", "quarantined"],
        var_name="rows",
        value_name="count",
    )
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("day:O", title="Day"),
            y=alt.Y("count:Q", title="Rows landed"),
            color=alt.Color(
                "rows:N",
                title=None,
                scale=alt.Scale(domain=["clean", "quarantined"], range=["#6baed6", "#fd8d3c"]),
            ),
            tooltip=["day", "rows", "count", "refused_files"],
        )
        .properties(width=WIDTH, height=220)
    )
    return Section("Data volume and rejected rows", story, chart)


def _drift(drift: pd.DataFrame) -> Section:
    story = (
        "Population stability (PSI) of each feature against the previous 14 days; above 0.2 is a real shift."
    )
    if drift.empty:
        return Section("Feature drift", story, _empty("No drift measured yet (it needs a day of history)"))
    chart = (
        alt.Chart(drift)
        .mark_rect()
        .encode(
            x=alt.X("day:O", title="Day"),
            y=alt.Y("feature:N", title=None),
            color=alt.Color(
                "psi:Q", title="PSI", scale=alt.Scale(scheme="orangered", domain=[0, 0.5], clamp=True)
            ),
            tooltip=["day", "feature", alt.Tooltip("psi:Q", format=".3f"), "p_value", "drifted"],
        )
        .properties(width=WIDTH, height=24 * drift["feature"].nunique())
    )
    return Section("Feature drift", story, chart)


def _alerts(alerts: pd.DataFrame) -> Section:
    story = "Checks that failed and runs that failed, by day: each one was sent to the alert channels."
    if alerts.empty:
        return Section("Alerts raised", story, _empty("No alerts raised"))
    counts = alerts.groupby(["day", "severity"], as_index=False).size()
    chart = (
        alt.Chart(counts)
        .mark_bar()
        .encode(
            x=alt.X("day:O", title="Day"),
            y=alt.Y("size:Q", title="Alerts", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                "severity:N", scale=alt.Scale(domain=["ERROR", "WARN"], range=["#d62728", "#ff9896"])
            ),
            tooltip=["day", "severity", "size"],
        )
        .properties(width=WIDTH, height=160)
    )
    return Section("Alerts raised", story, chart)


def _page(title: str, sections: list[Section], alerts: pd.DataFrame) -> str:
    specs = [json.loads(section.chart.to_json()) for section in sections]
    blocks = "\n".join(
        f'<section><h2>{escape(s.title)}</h2><p class="story">{escape(s.story)}</p>'
        f'<div class="chart" id="chart-{i}"></div></section>'
        for i, s in enumerate(sections)
    )
    rows = "".join(
        f"<tr><td>{escape(str(a.day))}</td><td>{escape(str(a.severity))}</td><td>{escape(str(a.title))}</td></tr>"
        for a in alerts.itertuples()
    )
    table = f"<table><tr><th>Day</th><th>Severity</th><th>Alert</th></tr>{rows}</table>" if rows else ""
    payload = json.dumps(specs).replace("</", "<\\/")
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px auto; max-width: 860px; color: #222; }}
h1 {{ margin-bottom: 0; }} .generated {{ color: #777; margin-top: 4px; }}
section {{ margin: 28px 0; }} h2 {{ margin-bottom: 2px; font-size: 1.15em; }}
.story {{ color: #555; margin-top: 2px; }}
table {{ border-collapse: collapse; font-size: 0.9em; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; }}
</style></head>
<body><h1>{escape(title)}</h1><p class="generated">Generated {generated}</p>
{blocks}
{table}
<script type="application/json" id="specs">{payload}</script>
<script>{_bundle()}</script>
<script>
const specs = JSON.parse(document.getElementById("specs").textContent);
Promise.all(specs.map((spec, i) => vegaEmbed("#chart-" + i, spec, {{renderer: "svg", actions: false}})))
  .then(() => {{ document.body.dataset.rendered = String(specs.length); }})
  .catch((error) => {{ console.error("chart failed: " + error); document.body.dataset.rendered = "error"; }});
</script>
</body></html>
"""


def _bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one script, from vl-convert: nothing loads from a CDN."""
    return vl_convert.javascript_bundle()  # type: ignore[call-arg]  # its stub lacks the default
