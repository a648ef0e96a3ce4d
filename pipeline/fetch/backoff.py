"""How far to push out the next fetch of a source that keeps failing."""

from __future__ import annotations

MAX_BACKOFF = 24 * 3600.0


def backoff_delay(consecutive_failures: int, interval: float) -> float:
    """Seconds until the next fetch: the interval, doubled per failure after the first, at most a day.

    One failure is usually a glitch, so it keeps the normal interval; then 2x, 4x, 8x ... up to
    ``max(interval, 24h)`` so that a dead source is still tried (and reported) once a day.
    """
    interval = max(float(interval), 1.0)
    if consecutive_failures <= 1:
        return interval
    factor = 2.0 ** min(consecutive_failures - 1, 20)
    return min(interval * factor, max(interval, MAX_BACKOFF))
