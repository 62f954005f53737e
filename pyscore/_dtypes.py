"""This module contains the dtypes every stage agrees on, declared once."""

import numpy as np

FEATURE_DTYPE = np.float32  # the feature matrix: messages x signals, NaN = not available
SCORE_DTYPE = np.float64  # model margins and probabilities
OFFSET_DTYPE = np.int64  # offsets of ragged columns
