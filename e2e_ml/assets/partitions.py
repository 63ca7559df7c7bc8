"""The shape of the graph in time, fixed when the code location loads."""

import warnings

import dagster as dg

from e2e_ml.core.contract import load_contract
from e2e_ml.deployments import Settings

GRAPH_SETTINGS = Settings.from_env()
GRAPH_CONTRACT = load_contract(GRAPH_SETTINGS.contract)
# The contract may set its own window; else the deployment's (E2E_ML_TRAINING_WINDOW_DAYS).
TRAINING_WINDOW_DAYS = GRAPH_CONTRACT.training.window_days or GRAPH_SETTINGS.training_window_days
# Labels arrive late: the days read reach back by the delay, so the window holds that many labelled days.
LABEL_DELAY_DAYS = GRAPH_CONTRACT.time.label_delay_days
# How many served days back each day's realized performance looks for newly known labels.
FOLLOWED_DAYS = GRAPH_CONTRACT.realized_days

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=GRAPH_SETTINGS.start_date.isoformat(), timezone="UTC"
)

# trained_model[D] learns from the clean days before D: D is what it will be asked to predict.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)  # the first days have no days before them
    training_window = dg.TimeWindowPartitionMapping(
        start_offset=-(TRAINING_WINDOW_DAYS + LABEL_DELAY_DAYS),
        end_offset=-1,
        allow_nonexistent_upstream_partitions=True,
    )
    # realized_performance[D] follows the days served in the last few days, as their labels land.
    followed_days = dg.TimeWindowPartitionMapping(
        start_offset=-FOLLOWED_DAYS, end_offset=0, allow_nonexistent_upstream_partitions=True
    )
