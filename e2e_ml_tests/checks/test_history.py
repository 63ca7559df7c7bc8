import pandas as pd

from e2e_ml.checks.history import count_day, read_sample
from e2e_ml.resources.storage import StorageLocation, parquet_bytes, table_path


def test_a_sample_caps_each_day_reads_only_the_asked_columns_and_repeats_itself(tmp_path):
    lake = StorageLocation(url=str(tmp_path))
    for day, rows in (("2026-01-01", 10), ("2026-01-02", 500)):
        frame = pd.DataFrame({"day": day, "x": range(rows), "id": [f"p{i}" for i in range(rows)]})
        lake.write(table_path("rows", day), parquet_bytes(frame))
    days = ["2026-01-01", "2026-01-02", "2026-01-03"]

    sample, present = read_sample(lake, "rows", days, ["day", "x"], rows_per_day=100)

    assert present == ["2026-01-01", "2026-01-02"]
    assert sample.columns.tolist() == ["day", "x"]
    assert sample["day"].value_counts().to_dict() == {"2026-01-02": 100, "2026-01-01": 10}
    assert sample.equals(read_sample(lake, "rows", days, ["day", "x"], rows_per_day=100)[0])
    assert count_day(lake, "rows", "2026-01-02") == 500 and count_day(lake, "rows", "2026-01-03") == 0
