"""The knee of a curve: yellowbrick's KneeLocator (Kneedle, online=False)."""

import numpy as np

from . import _core


class KneeLocator:
    """``KneeLocator(x, y, S=1.0, curve_nature='convex', curve_direction='decreasing')``
    as in yellowbrick.utils.kneed: ``knee`` (None when there is none), ``elbow`` (the
    same), ``all_knees``. The elbow of a k-means sweep: convex, decreasing."""

    def __init__(self, x, y, S=1.0, curve_nature="concave", curve_direction="increasing", online=False):
        if online:
            raise ValueError("online: only online=False (yellowbrick's default) is supported")
        x = np.ascontiguousarray(x, dtype=np.float64)
        y = np.ascontiguousarray(y, dtype=np.float64)
        r = _core.knee(x, y, curve_nature, curve_direction, float(S))
        self.x, self.y, self.S = x, y, S
        self.curve_nature, self.curve_direction = curve_nature, curve_direction
        self.knee = r["knee"]
        self.all_knees = set(r["all_knees"])

    @property
    def elbow(self):
        return self.knee
