import dagster as dg
import polars as pl

from e2e_ml.assets.ingest import ingest
from e2e_ml.resources.storage import LandingZone, ParquetIOManager, StorageLocation


def test_a_hostile_name_is_refused_unread_and_the_good_file_still_flows(tmp_path, monkeypatch):
    landing = LandingZone(url=str(tmp_path / "landing"))
    landing.write("2026/01/05/good.csv", b"player_id,sessions\np000001,3\n")
    landing.write("2026/01/05/bad\x07name.csv", b"player_id\np000002\n")
    read: list[str] = []
    original = LandingZone.local_copy
    monkeypatch.setattr(
        LandingZone, "local_copy", lambda self, name: read.append(name) or original(self, name)
    )
    result = dg.materialize(
        [ingest],
        partition_key="2026-01-05",
        resources={
            "landing_zone": landing,
            "lake_io_manager": ParquetIOManager(store=StorageLocation(url=str(tmp_path / "lake"))),
        },
    )
    manifest = result.output_for_node("ingest", "raw_manifest").set_index("status")
    raw = pl.read_parquet(tmp_path / "lake" / "raw_stream" / "date=2026-01-05" / "part.parquet")
    assert read == ["2026/01/05/good.csv"]
    assert raw["player_id"].to_list() == ["p000001"]
    assert "refused unread, control character in the name" in manifest.loc["refused", "reason"]
    assert "\x07" not in manifest.loc["refused", "reason"]
