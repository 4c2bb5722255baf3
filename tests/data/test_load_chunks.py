"""A long panel read a few shops at a time (``load_panel_chunks``): each part equals the whole panel's shops, for
CSV and Parquet files with many row groups and folders of Parquet files partitioned by shop, and messages name the
file's rows as for the whole file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from causalmmm_ppl.data.load import load_panel, load_panel_chunks
from causalmmm_ppl.errors import InputError
from tests.data.fixtures.panels import SPEC, assert_panels_equal, long_frame


@pytest.fixture()
def files(tmp_path):
    frame = long_frame(n_shops=7, n_days=10)
    frame = pd.concat([frame[frame["shop"] == "d"], frame[frame["shop"] != "d"]])  # "d" first: order kept
    frame.to_csv(tmp_path / "p.csv", index=False)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "p.parquet", row_group_size=10)
    return frame, tmp_path


@pytest.mark.parametrize("name", ["p.csv", "p.parquet"])
@pytest.mark.parametrize("per_chunk", [1, 3, 7, 100])
def test_the_parts_are_the_whole_panel_shop_by_shop(files, name, per_chunk):
    frame, tmp = files
    whole = load_panel(tmp / name, SPEC)
    chunks = load_panel_chunks(tmp / name, SPEC, per_chunk)
    assert chunks.n_shops == 7
    parts = list(chunks)
    assert [len(p.shops) for p in parts] == [min(per_chunk, 7 - k) for k in range(0, 7, per_chunk)]
    assert sum((p.shops for p in parts), ()) == whole.shops == ("d", "a", "b", "c", "e", "f", "g")
    for part in parts:
        assert_panels_equal(whole.select_shops(np.array([whole.shops.index(s) for s in part.shops])), part)


@pytest.mark.parametrize("name", ["p.csv", "p.parquet"])
def test_a_bad_row_in_a_later_part_is_named_as_in_the_whole_file(files, name):
    frame, tmp = files
    frame = frame.reset_index(drop=True)
    frame.loc[frame.index[frame["shop"] == "f"][4], "tv"] = -3.0
    bad = tmp / ("bad" + name[1:])
    frame.to_csv(bad, index=False) if name.endswith(".csv") else frame.to_parquet(bad, index=False)
    with pytest.raises(InputError) as whole:
        load_panel(bad, SPEC)
    with pytest.raises(InputError) as parts:
        list(load_panel_chunks(bad, SPEC, 2))
    assert str(parts.value) == str(whole.value)
    assert "shop 'f'" in str(whole.value)


def test_a_chunk_size_below_one_is_refused(files):
    _, tmp = files
    with pytest.raises(InputError, match="--shops-per-chunk 0"):
        load_panel_chunks(tmp / "p.csv", SPEC, 0)


@pytest.fixture()
def partitioned(tmp_path):
    """The panel of :func:`files` with shop ids that are numbers with leading zeros, written as a folder of Parquet
    files partitioned by shop (``shop=007/…``), and the same table as one CSV."""
    frame = long_frame(n_shops=5, n_days=10)
    frame["shop"] = frame["shop"].map({s: f"{k:03d}" for k, s in enumerate(sorted(frame["shop"].unique()))})
    frame.to_parquet(tmp_path / "panel", partition_cols=["shop"], index=False)
    frame.to_csv(tmp_path / "panel.csv", index=False)
    return tmp_path


@pytest.mark.parametrize("per_chunk", [None, 2])
def test_a_folder_partitioned_by_shop_reads_as_the_table_it_holds(partitioned, per_chunk):
    whole = load_panel(partitioned / "panel.csv", SPEC)
    assert whole.shops == ("000", "001", "002", "003", "004")  # ids as text, zeros kept
    parts = list(load_panel_chunks(partitioned / "panel", SPEC, per_chunk))
    assert [p.n_shops for p in parts] == ([5] if per_chunk is None else [2, 2, 1])
    assert sum((p.shops for p in parts), ()) == whole.shops
    for part in parts:
        assert_panels_equal(whole.select_shops(np.array([whole.shops.index(s) for s in part.shops])), part)


def test_each_part_of_a_partitioned_folder_reads_only_its_shops_files(partitioned):
    """Shop 004's file, damaged after the parts were planned (from the files' footers), stops the part that holds
    004, and only that part: the others never open it."""
    chunks = load_panel_chunks(partitioned / "panel", SPEC, 2)
    (bad,) = (partitioned / "panel" / "shop=004").glob("*.parquet")
    bad.write_bytes(b"not parquet")
    parts = iter(chunks)
    assert next(parts).shops == ("000", "001") and next(parts).shops == ("002", "003")
    with pytest.raises(InputError, match="cannot read the rows of shop.s. '004'"):
        next(parts)
    with pytest.raises(InputError, match="Parquet dataset"):
        load_panel(partitioned / "panel", SPEC)


def test_a_folder_without_parquet_files_is_no_data_file(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(IsADirectoryError, match="without Parquet files"):
        load_panel(tmp_path / "empty", SPEC)


@pytest.mark.parametrize("name", ["p.csv", "p.parquet"])
def test_an_empty_shop_id_is_named_by_its_row_as_in_the_whole_file(files, name):
    frame, tmp = files
    frame = frame.reset_index(drop=True).astype({"shop": object})
    frame.loc[13, "shop"] = None
    bad = tmp / ("empty" + name[1:])
    frame.to_csv(bad, index=False) if name.endswith(".csv") else frame.to_parquet(bad, index=False)
    with pytest.raises(InputError) as whole:
        load_panel(bad, SPEC)
    chunks = load_panel_chunks(bad, SPEC, 2)
    assert chunks.n_shops == 8  # the seven shops and the empty id
    with pytest.raises(InputError) as parts:
        list(chunks)
    assert str(parts.value) == str(whole.value) and "empty shop identifier" in str(whole.value)


def test_integer_shop_ids_in_parquet_are_chunked_in_order_of_appearance(files):
    frame, tmp = files
    ids = {s: k for k, s in enumerate(["d", "a", "b", "c", "e", "f", "g"])}
    frame = frame.assign(shop=frame["shop"].map(ids).astype("int64"))
    frame.to_parquet(tmp / "ints.parquet", index=False)
    parts = list(load_panel_chunks(tmp / "ints.parquet", SPEC, 3))
    assert [p.shops for p in parts] == [("0", "1", "2"), ("3", "4", "5"), ("6",)]
    whole = load_panel(tmp / "ints.parquet", SPEC)
    for part in parts:
        assert_panels_equal(whole.select_shops(np.array([whole.shops.index(s) for s in part.shops])), part)


@pytest.mark.parametrize("per_chunk", [2, 5])
def test_a_parquet_file_with_interleaved_shops_reads_as_the_whole(tmp_path, per_chunk):
    """Rows sorted by date (every row group holds every shop): each part still equals the whole panel's shops."""
    frame = long_frame(n_shops=6, n_days=10).sort_values(["date", "shop"], kind="stable")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "by_date.parquet", row_group_size=9)
    whole = load_panel(tmp_path / "by_date.parquet", SPEC)
    for part in load_panel_chunks(tmp_path / "by_date.parquet", SPEC, per_chunk):
        assert_panels_equal(whole.select_shops(np.array([whole.shops.index(s) for s in part.shops])), part)


def test_each_part_of_a_parquet_file_decodes_only_its_row_groups(files, monkeypatch):
    """A file written shop by shop (one shop per row group here): a part of one shop decodes that shop's group."""
    read: list[int] = []
    original = pq.ParquetFile.read_row_group

    def recording(self, i, *args, **kwargs):
        read.append(i)
        return original(self, i, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read_row_group", recording)
    _, tmp = files
    parts = list(load_panel_chunks(tmp / "p.parquet", SPEC, 1))
    assert len(parts) == 7 and read == list(range(7))


@pytest.mark.parametrize("name", ["p.csv", "p.parquet"])
@pytest.mark.parametrize("world, per_chunk", [(1, 3), (2, 2), (3, 1), (3, 100)])
def test_a_process_reads_its_own_shops_and_together_they_read_the_panel_once(files, name, world, per_chunk):
    """Process r of W reads shops r, r + W, … (``Shard.shops``), ``per_chunk`` at a time, equal to the whole
    panel's rows of those shops."""
    _, tmp = files
    whole = load_panel(tmp / name, SPEC)
    chunks = load_panel_chunks(tmp / name, SPEC, per_chunk)
    seen = []
    for rank in range(world):
        parts = list(chunks.shard(rank, world))
        mine = whole.shops[rank::world]
        assert sum((p.shops for p in parts), ()) == mine
        assert all(len(p.shops) <= per_chunk for p in parts)
        for part in parts:
            assert_panels_equal(whole.select_shops(np.array([whole.shops.index(s) for s in part.shops])), part)
        seen += mine
    assert sorted(seen) == sorted(whole.shops)
    assert [p.shops for p in chunks] == [p.shops for p in load_panel_chunks(tmp / name, SPEC, per_chunk)]


def test_shops_on_other_dates_join_on_one_grid(files):
    """A ragged panel split into parts with grids of their own: ``concat_shops`` lays them on their common grid and
    gives the whole panel back; ``on_dates`` refuses a grid without one of the panel's dates."""
    from causalmmm_ppl.data.panel import concat_shops

    frame, tmp = files
    frame = frame[~(frame["shop"].isin(["d", "a"]) & (frame["date"] < "2021-03-04"))]  # "d" and "a" start late
    frame = frame[~((frame["shop"] == "g") & (frame["date"] > "2021-03-07"))]  # "g" ends early
    frame.to_csv(tmp / "ragged.csv", index=False)
    whole = load_panel(tmp / "ragged.csv", SPEC)
    parts = [load_panel(frame[frame["shop"].isin(group)], SPEC) for group in (["d", "a"], ["b", "c", "e", "f"], ["g"])]
    assert parts[0].n_time < whole.n_time and parts[2].n_time < whole.n_time
    assert_panels_equal(concat_shops(parts), whole)
    with pytest.raises(ValueError, match="lacks"):
        whole.on_dates(whole.dates[1:])
