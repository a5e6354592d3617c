"""Sliding windows over one subject's requests, evicting as time moves on.

Each window holds only the requests inside it, so memory follows the
traffic of the last few minutes, never the size of the log. Times come
from the log; a line a little out of order is counted in the window it
lands in rather than re-sorted, which shifts a count by one at most.
"""

from __future__ import annotations

from collections import Counter, deque

from ledger.runtime.policy import EnumerationPolicy


class PairWindow:
    """One subject on one route: the counts behind ENUM001, ENUM002, ENUM003, ENUM005."""

    __slots__ = (
        "burst_until",
        "events",
        "last",
        "long_ids",
        "minute",
        "minute_ids",
        "misses",
        "numbers",
        "peak",
        "run_minutes",
        "run_start",
        "short",
        "short_ids",
        "unowned",
    )

    def __init__(self, policy: EnumerationPolicy) -> None:
        self.events: deque[tuple[float, str, bool, bool]] = deque()
        self.long_ids: dict[str, int] = {}
        self.short: deque[tuple[float, str]] = deque()
        self.short_ids: dict[str, int] = {}
        self.misses = 0
        self.unowned = 0
        self.numbers: deque[tuple[float, int, bool, str]] = deque(
            maxlen=policy.sequence_min_requests
        )
        self.minute = -1
        self.minute_ids: set[str] = set()
        self.run_minutes = 0
        self.run_start = 0.0
        self.peak = 0
        self.last = 0.0
        self.burst_until = 0.0

    def add(
        self,
        policy: EnumerationPolicy,
        t: float,
        oid: str,
        number: int | None,
        miss: bool,
        unowned: bool,
    ) -> None:
        """Count one request and drop those that fell out of the windows."""
        self.last = t
        self.events.append((t, oid, miss, unowned))
        self.long_ids[oid] = self.long_ids.get(oid, 0) + 1
        self.misses += miss
        self.unowned += unowned or miss
        self.short.append((t, oid))
        self.short_ids[oid] = self.short_ids.get(oid, 0) + 1
        if number is not None:
            self.numbers.append((t, number, unowned or miss, oid))

        horizon = t - policy.long_window_seconds
        events, ids = self.events, self.long_ids
        while events[0][0] < horizon:
            _, old, was_miss, was_unowned = events.popleft()
            self.misses -= was_miss
            self.unowned -= was_unowned or was_miss
            _drop(ids, old)
        horizon = t - policy.short_window_seconds
        while self.short[0][0] < horizon:
            _drop(self.short_ids, self.short.popleft()[1])
        self.peak = max(self.peak, len(ids))

        minute = int(t // 60)
        if minute != self.minute:
            self.minute, self.minute_ids = minute, set()
        self.minute_ids.add(oid)
        if len(self.minute_ids) == policy.velocity_ids_per_minute:
            # This minute reached the rate: extend the run if the last one did.
            if self.run_minutes and self.run_start + self.run_minutes * 60 == minute * 60:
                self.run_minutes += 1
            else:
                self.run_minutes, self.run_start = 1, minute * 60.0

    def sequential_step(self, policy: EnumerationPolicy) -> int | None:
        """The common step of a walk through numeric ids, if the last ones make one.

        A walk needs ``sequence_min_requests`` numeric ids inside the long
        window, most steps equal and non-zero, and at least one id that
        missed or belonged to someone else: a user stepping through their own
        consecutive records (created in one batch) is not walking anyone's.
        """
        numbers = self.numbers
        if len(numbers) < policy.sequence_min_requests:
            return None
        # Cheap rejection first: most readers do not end on two equal steps.
        # A walk that qualifies is caught on the next request that does.
        last, before, third = numbers[-1][1], numbers[-2][1], numbers[-3][1]
        if last == before or last - before != before - third:
            return None
        if numbers[0][0] < self.last - policy.long_window_seconds:
            return None
        if not any(item[2] for item in numbers):
            return None
        steps = Counter(b[1] - a[1] for a, b in zip(numbers, list(numbers)[1:], strict=False))
        step, count = steps.most_common(1)[0]
        if step == 0 or count < policy.sequence_equal_share * (len(numbers) - 1):
            return None
        return step


class AddressWindow:
    """The addresses one subject used recently, for ENUM006."""

    __slots__ = ("addresses", "events", "last")

    def __init__(self) -> None:
        self.events: deque[tuple[float, str]] = deque()
        self.addresses: dict[str, int] = {}
        self.last = 0.0

    def add(self, t: float, ip: str, window: float) -> int:
        """Count one request from ``ip``; return the distinct addresses in the window."""
        self.last = t
        self.events.append((t, ip))
        self.addresses[ip] = self.addresses.get(ip, 0) + 1
        horizon = t - window
        while self.events[0][0] < horizon:
            _drop(self.addresses, self.events.popleft()[1])
        return len(self.addresses)


def _drop(counts: dict[str, int], key: str) -> None:
    left = counts[key] - 1
    if left:
        counts[key] = left
    else:
        del counts[key]
