from datetime import date

import dagster as dg
import pandas as pd
import polars as pl

from e2e_ml.resources.storage import LandingZone, ParquetIOManager, StorageLocation

daily = dg.DailyPartitionsDefinition(start_date="2026-01-01")


@dg.asset(partitions_def=daily, io_manager_key="io")
def numbers(context: dg.AssetExecutionContext) -> pd.DataFrame:
    day = int(context.partition_key[-2:])
    return pd.DataFrame({"day": [day] * day, "value": pd.array(range(day), dtype="Int64")})


@dg.asset(io_manager_key="io")
def total(numbers: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"rows": [len(numbers)], "days": [numbers["day"].nunique()]})


def test_partitions_land_in_hive_layout_and_load_back_together(tmp_path):
    io_manager = ParquetIOManager(store=StorageLocation(url=str(tmp_path / "lake")))
    for day in ("2026-01-02", "2026-01-03"):
        result = dg.materialize([numbers], partition_key=day, resources={"io": io_manager})
        assert result.success
    files = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "lake").rglob("*") if p.is_file())
    assert files == [
        "lake/numbers/date=2026-01-02/part.parquet",
        "lake/numbers/date=2026-01-03/part.parquet",
    ]
    result = dg.materialize([numbers.to_source_asset(), total], resources={"io": io_manager})
    assert result.output_for_node("total").to_dict("records") == [{"rows": 5, "days": 2}]


def test_rerun_overwrites_a_partition_and_leaves_no_temporary_files(tmp_path):
    io_manager = ParquetIOManager(store=StorageLocation(url=str(tmp_path / "lake")))
    for _ in range(2):
        dg.materialize([numbers], partition_key="2026-01-04", resources={"io": io_manager})
    folder = tmp_path / "lake" / "numbers" / "date=2026-01-04"
    assert [p.name for p in folder.iterdir()] == ["part.parquet"]
    frame = pd.read_parquet(folder / "part.parquet")
    assert len(frame) == 4 and str(frame["value"].dtype) == "Int64"


def test_materialization_metadata_says_rows_bytes_and_where(tmp_path):
    io_manager = ParquetIOManager(store=StorageLocation(url=str(tmp_path / "lake")))
    result = dg.materialize([numbers], partition_key="2026-01-03", resources={"io": io_manager})
    metadata = result.asset_materializations_for_node("numbers")[0].metadata
    assert metadata["rows"].value == 3
    assert metadata["bytes"].value > 0
    assert metadata["url"].value.endswith("numbers/date=2026-01-03/part.parquet")


@dg.asset(partitions_def=daily, io_manager_key="io")
def typed_rows() -> pl.DataFrame:
    return pl.DataFrame({"id": ["a", "b", None], "count": [1, None, 3]})


@dg.asset(partitions_def=daily, io_manager_key="io")
def as_pandas(typed_rows: pd.DataFrame) -> pd.DataFrame:
    return typed_rows


@dg.asset(partitions_def=daily, io_manager_key="io")
def as_polars(typed_rows: pl.DataFrame) -> pl.DataFrame:
    return typed_rows


def test_polars_tables_load_as_the_consumer_asks_and_keep_nullable_integers(tmp_path):
    store = StorageLocation(url=str(tmp_path / "lake"))
    result = dg.materialize(
        [typed_rows, as_pandas, as_polars],
        partition_key="2026-01-03",
        resources={"io": ParquetIOManager(store=store)},
    )
    pandas_rows, polars_rows = result.output_for_node("as_pandas"), result.output_for_node("as_polars")
    assert isinstance(polars_rows, pl.DataFrame) and polars_rows["count"].to_list() == [1, None, 3]
    assert str(pandas_rows["count"].dtype) == "Int64" and pandas_rows["count"].isna().tolist() == [
        False,
        True,
        False,
    ]
    relative = "typed_rows/date=2026-01-03/part.parquet"
    assert store.row_count(relative) == 3
    assert store.read_table(relative, columns=["count"]).columns.tolist() == ["count"]


def test_landing_zone_lists_by_day_without_reading(tmp_path):
    landing = LandingZone(url=str(tmp_path))
    landing.write("2026/01/05/a.csv", b"abc")
    landing.write("2026/01/06/b.csv", b"defg")
    assert [(f.name, f.size) for f in landing.list_recent(date.today())] == [
        ("2026/01/05/a.csv", 3),
        ("2026/01/06/b.csv", 4),
    ]
    assert [f.name for f in landing.list_day(date(2026, 1, 6))] == ["2026/01/06/b.csv"]
    assert landing.list_day(date(2026, 2, 1)) == []
    assert landing.read_bytes("2026/01/05/a.csv") == b"abc"


def test_lookback_lists_only_the_months_that_cover_it(tmp_path, monkeypatch):
    landing = LandingZone(url=str(tmp_path), lookback_days=12)
    for name in ("2026/11/20/a.csv", "2026/11/10/b.csv", "2026/10/30/c.csv", "2025/03/01/old.csv"):
        landing.write(name, b"x")
    listed: list[str] = []
    original = LandingZone._list

    def spy(self, prefixes):
        listed.extend(prefixes)
        return original(self, prefixes)

    monkeypatch.setattr(LandingZone, "_list", spy)
    names = [f.name for f in landing.list_recent(date(2026, 11, 24))]
    assert names == ["2026/11/20/a.csv"]
    assert listed == ["2026/11/"]
    assert [f.name for f in landing.list_recent(date(2026, 12, 1))] == ["2026/11/20/a.csv"]
    assert listed[1:] == ["2026/11/", "2026/12/"]


def test_concurrent_writers_each_land_whole_files(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    store = StorageLocation(url=str(tmp_path / "store"))
    payloads = {f"2026/01/{day:02d}/dump.csv": bytes([day]) * 100_000 for day in range(1, 29)}
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda item: store.write(*item), payloads.items()))
    for name, data in payloads.items():
        assert (tmp_path / "store" / name).read_bytes() == data
    assert not list((tmp_path / "store").rglob("*.partial"))


def test_a_table_sample_is_fixed_spread_over_row_groups_and_only_the_columns_asked(tmp_path):
    store = StorageLocation(url=str(tmp_path / "lake"))
    relative = "wide/date=2026-01-03/part.parquet"
    rows = pl.DataFrame({"n": range(1_000), "tag": [f"t{i % 7}" for i in range(1_000)]})
    with store.writing(relative) as local:
        rows.write_parquet(local, row_group_size=64)

    sample = store.read_table_sample(relative, ["n"], 100)
    assert sample.columns.tolist() == ["n"]
    assert len(sample) == 100 and sample["n"].is_unique and sample["n"].is_monotonic_increasing
    assert sample["n"].between(0, 999).all()
    assert sample["n"].max() - sample["n"].min() > 500  # drawn across the row groups, not the head
    assert sample.equals(store.read_table_sample(relative, ["n"], 100))
    assert len(store.read_table_sample(relative, ["n", "tag"], 5_000)) == 1_000  # fewer rows: all


def test_a_lazy_window_of_days_lines_up_days_whose_columns_differ(tmp_path):
    store = StorageLocation(url=str(tmp_path / "lake"))
    days = {
        "2026-01-02": pl.DataFrame({"id": ["a"], "count": [1]}),
        "2026-01-03": pl.DataFrame({"id": ["b"], "count": [2.5], "added": ["new"]}),  # a later contract
    }
    for day, rows in days.items():
        with store.writing(f"rows/date={day}/part.parquet") as local:
            rows.write_parquet(local)
    io_manager = ParquetIOManager(store=store)
    context = dg.build_input_context(
        asset_key=dg.AssetKey("rows"),
        asset_partitions_def=daily,
        asset_partition_key_range=dg.PartitionKeyRange("2026-01-02", "2026-01-04"),
        dagster_type=dg.PythonObjectDagsterType(pl.LazyFrame),
    )
    window = io_manager.load_input(context)
    assert isinstance(window, pl.LazyFrame)
    assert window.collect().to_dicts() == [
        {"id": "a", "count": 1.0, "added": None},
        {"id": "b", "count": 2.5, "added": "new"},
    ]
