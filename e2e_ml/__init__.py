"""e2e-ml: an end-to-end machine-learning workflow as a Dagster asset graph."""

import os

# polars' streaming engine passes rows between its operators in morsels of this many rows, a
# size it reads once, when it is imported. Its default (100,000) holds about twice the memory
# in flight on a 5M-row day for no gain in speed here (bench.clean_step). Set before any import
# of polars; the environment still wins.
os.environ.setdefault("POLARS_IDEAL_MORSEL_SIZE", "20000")
# Its CSV reader reads ahead in chunks sized from the file by default: ~400 MiB held whatever
# the day's size. 8 MiB chunks hold ~150 MiB less at the same speed (bench.clean_step).
os.environ.setdefault("POLARS_CSV_CHUNK_SIZE", str(8 << 20))
