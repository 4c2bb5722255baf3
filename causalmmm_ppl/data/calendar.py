"""Calendar features shared by every node (exogenous, so they open no path around the graph)."""

from __future__ import annotations

import numpy as np
import pandas as pd

N_CALENDAR = 6
#: The day-of-week harmonics among the columns of :func:`calendar_features` (weekly-periodic, so a day's
#: value equals that of the day a week before).
WEEKDAY_COLUMNS = slice(0, 4)


def calendar_features(dates: pd.DatetimeIndex) -> np.ndarray:
    """Weekly and yearly Fourier terms of each date.

    Parameters
    ----------
    dates : (time,) dates

    Returns
    -------
    (time, 6) float32: day-of-week harmonics 1 and 2 (sin, cos), then the yearly first harmonic (sin, cos).
    On weekly data the day-of-week terms are constant.
    """
    dow = np.asarray(dates.day_of_week, dtype=float) * 2 * np.pi / 7.0
    doy = np.asarray(dates.day_of_year, dtype=float) * 2 * np.pi / 365.25
    cols = [np.sin(dow), np.cos(dow), np.sin(2 * dow), np.cos(2 * dow), np.sin(doy), np.cos(doy)]
    return np.stack(cols, axis=-1).astype(np.float32)
