"""A long panel read a few shops at a time (``load_panel_chunks``): each part equals the whole panel's shops, for
CSV and Parquet files with many row groups, and messages name the file's rows as for the whole file."""

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
