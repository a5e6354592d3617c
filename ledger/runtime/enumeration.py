"""The ENUM rules: one subject walking through objects that are not its own.

Rules (thresholds in :mod:`ledger.runtime.policy`):

- ENUM001 fan-out: many distinct ids on one route in the short or long
  window, or a multiple of the route's median subject, while at least
  ``fanout_unowned_share`` of the window's requests missed or reached
  another subject's ids. Reading many of one's own objects (an export, a
  sync client, paging through a list) has neither, and raises nothing.
- ENUM002 sequential walk: numeric ids stepping by one common step.
- ENUM003 miss ratio: most requests in the long window answered 403/404.
- ENUM004 foreign ids: successful reads of ids first seen for other
  subjects, from several owners; the strongest sign of broken object-level
  authorization (OWASP API1:2023).
- ENUM005 sustained velocity: a steady rate of new ids, minute after minute.
- ENUM006 one subject from many addresses: a token shared or stolen.

Ownership is learnt from the log: an id belongs to the first subject that
read it successfully. Ids first read during a subject's flagged burst, or
owned by a subject already flagged, are not anyone's, so an attacker who
touches an object first does not make its owner look like a thief later.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import statistics
from dataclasses import dataclass, field
from functools import lru_cache

from ledger.runtime.accesslog import Request
from ledger.runtime.policy import EnumerationPolicy
from ledger.runtime.routes import RouteTemplates
from ledger.runtime.windows import AddressWindow, PairWindow

SAMPLE_IDS = 5
"""Ids a finding quotes; enough to look up, few enough to read."""

_SWEEP_SECONDS = 60
_SHARED_PANEL = 2000
_BURST_RULES = ("ENUM001", "ENUM002", "ENUM003")
SHARED_EXEMPT = ("ENUM001", "ENUM002", "ENUM004", "ENUM005")
"""Rules that do not apply on routes whose objects everyone reads."""


@dataclass
class Episode:
    """One rule firing for one subject on one route, merged over the whole log."""

    rule: str
    subject: str
    subject_source: str
    route: str
    start: float
    end: float
    counts: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    detail: dict[str, str] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    """ENUM004 only: foreign id -> the subject it was first seen for."""

    def widen(self, start: float, end: float, counts: dict[str, int]) -> None:
        """Extend the episode's window and keep each count's peak."""
        self.start, self.end = min(self.start, start), max(self.end, end)
        for name, value in counts.items():
            self.counts[name] = max(self.counts.get(name, 0), value)


class _Route:
    """What is learnt about one route: subjects' peaks and whether it is shared."""

    __slots__ = ("baseline", "hitters", "median", "panel", "peaks")

    def __init__(self) -> None:
        self.peaks: list[int] = []
        self.median = 0.0
        self.baseline = False
        # The first subjects seen on the route, and whether each has read
        # someone else's id: on a catalogue most have, on private data few.
        self.panel: dict[str, bool] = {}
        self.hitters = 0

    def shared(self, policy: EnumerationPolicy) -> bool:
        """Whether subjects commonly read each other's ids here."""
        return self.hitters >= policy.shared_min_subjects and (
            self.hitters >= policy.shared_ratio * len(self.panel)
        )

    def record_peak(self, peak: int, policy: EnumerationPolicy) -> None:
        # A ring of recent peaks: the median moves with the route's traffic.
        if len(self.peaks) < 256:
            self.peaks.append(peak)
        else:
            self.peaks[peak % 256] = peak
        if len(self.peaks) >= policy.baseline_min_samples and len(self.peaks) % 8 == 0:
            self.median, self.baseline = statistics.median(self.peaks), True


@lru_cache(maxsize=65_536)
def network(ip: str) -> str:
    """The unit an address is counted in: an IPv4 address, or an IPv6 /64.

    An IPv6 host picks new addresses inside its /64 all day (RFC 8981
    temporary addresses), so one phone is one /64, not dozens of addresses,
    and an anonymous caller cannot spread itself over its own prefix.
    """
    if ":" not in ip:
        return ip
    try:
        address = ipaddress.IPv6Address(ip)
    except ValueError:
        return ip
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network((address, 64), strict=False))


class Detector:
    """Feeds requests through the windows and collects :class:`Episode` records."""

    def __init__(self, policy: EnumerationPolicy) -> None:
        self.policy = policy
        self.templates = RouteTemplates(policy.slug_min_values)
        self.episodes: dict[tuple[str, str, str], Episode] = {}
        self.unattributed = 0
        self._pairs: dict[tuple[str, str], PairWindow] = {}
        self._addresses: dict[str, AddressWindow] = {}
        self._owners: dict[tuple[str, str], str] = {}
        self._routes: dict[str, _Route] = {}
        self._ignored: dict[str, bool] = {}
        # (subject, route) pairs caught enumerating: their reads there prove no
        # ownership. Per route, since reading a whole catalogue says nothing
        # about whose orders are whose.
        self._flagged: set[tuple[str, str]] = set()
        self._next_sweep = 0.0

    def observe(self, request: Request) -> None:
        """Count one request and check every rule it can trip."""
        policy, t = self.policy, request.time
        subject, source = request.subject, request.subject_source
        if subject is None:
            if request.ip is None:
                self.unattributed += 1
                return
            # Anonymous callers are told apart by address; ENUM006 cannot apply.
            subject, source = f"anonymous@{network(request.ip)}", "address"
        elif request.ip is not None:
            self._check_addresses(subject, source, network(request.ip), t)
        if t >= self._next_sweep:
            self._sweep(t)

        route = self.templates.split(request.path)
        if route.object_id is None or self._is_ignored(route.template):
            return
        template, oid = route.template, route.object_id
        info = self._routes.get(template) or self._routes.setdefault(template, _Route())
        pair = self._pairs.get((subject, template))
        if pair is None:
            pair = self._pairs[(subject, template)] = PairWindow(policy)
        if len(info.panel) < _SHARED_PANEL:
            info.panel.setdefault(subject, False)

        # Ownership: the first successful reader owns an id, unless it was
        # reading during a flagged burst or has been flagged since.
        status = request.status
        miss = status in policy.miss_statuses
        foreign = False
        if 200 <= status < 300 or status == 304:
            key = (template, oid)
            owner = self._owners.get(key)
            if not owner or (owner, template) in self._flagged:
                self._claim(key, "" if t < pair.burst_until else subject)
            elif owner != subject:
                foreign = True
                if info.panel.get(subject) is False:
                    info.panel[subject] = True
                    info.hitters += 1
                # Once a route is plainly shared, its foreign reads are ordinary.
                if not info.shared(policy):
                    self._note_foreign(subject, source, template, oid, owner, t)
        pair.add(policy, t, oid, route.number, miss, foreign)
        self._check_pair(subject, source, template, pair, info, t)

    def _check_pair(
        self, subject: str, source: str, template: str, pair: PairWindow, info: _Route, t: float
    ) -> None:
        policy = self.policy
        requests = len(pair.events)
        start = pair.events[0][0]
        counts = {"requests": requests, "distinct_ids": len(pair.long_ids)}

        # ENUM001: fan-out past a fixed or a learnt threshold, with evidence
        # that the ids are not all the subject's own.
        short, long_ = len(pair.short_ids), len(pair.long_ids)
        baseline = max(policy.baseline_min_ids, int(policy.baseline_multiple * info.median))
        over = (
            short >= policy.short_window_ids
            or long_ >= policy.long_window_ids
            or (info.baseline and long_ >= baseline)
        )
        if over and pair.unowned >= policy.fanout_unowned_share * requests:
            detail = {"route_median_ids": str(int(info.median))} if info.baseline else {}
            counts |= {"distinct_ids_short_window": short, "unowned_requests": pair.unowned}
            self._fire("ENUM001", subject, source, template, start, t, counts, pair, detail)

        # ENUM002: a walk through numeric ids by one step.
        if (step := pair.sequential_step(policy)) is not None:
            walk = [str(n[1]) for n in pair.numbers]
            seq = {"requests": len(walk), "step": step}
            self._fire(
                "ENUM002", subject, source, template, pair.numbers[0][0], t, seq, pair, {}, walk
            )

        # ENUM003: mostly misses, the sign of guessing at ids.
        if requests >= policy.miss_min_requests and pair.misses >= policy.miss_ratio * requests:
            missed = [e[1] for e in pair.events if e[2]]
            self._fire(
                "ENUM003",
                subject,
                source,
                template,
                start,
                t,
                counts | {"misses": pair.misses},
                pair,
                {},
                missed,
            )

        # ENUM005: the rate held for enough consecutive minutes.
        if pair.run_minutes >= policy.velocity_minutes:
            rate = {"minutes": pair.run_minutes, "ids_last_minute": len(pair.minute_ids)}
            self._fire(
                "ENUM005",
                subject,
                source,
                template,
                pair.run_start,
                t,
                rate,
                pair,
                {},
                list(pair.minute_ids),
            )

    def _fire(
        self,
        rule: str,
        subject: str,
        source: str,
        template: str,
        start: float,
        end: float,
        counts: dict[str, int],
        pair: PairWindow | None,
        detail: dict[str, str],
        samples: list[str] | None = None,
    ) -> None:
        key = (rule, subject, template)
        episode = self.episodes.get(key)
        if episode is None:
            ids = samples if samples is not None else list(pair.long_ids) if pair else []
            episode = self.episodes[key] = Episode(
                rule,
                subject,
                source,
                template,
                start,
                end,
                dict(counts),
                ids[:SAMPLE_IDS],
                dict(detail),
            )
        else:
            episode.widen(start, end, counts)
        if (
            pair is not None
            and rule in _BURST_RULES
            and not self._routes[template].shared(self.policy)
        ):
            # Ids first read during a burst are not evidence of ownership.
            pair.burst_until = end + self.policy.long_window_seconds
            self._flagged.add((subject, template))

    def _note_foreign(
        self, subject: str, source: str, template: str, oid: str, owner: str, t: float
    ) -> None:
        key = ("ENUM004", subject, template)
        episode = self.episodes.get(key)
        if episode is None:
            episode = self.episodes[key] = Episode("ENUM004", subject, source, template, t, t)
        episode.end = t
        if len(episode.owners) < 1000:
            episode.owners.setdefault(oid, owner)

    def _claim(self, key: tuple[str, str], owner: str) -> None:
        owners = self._owners
        if key not in owners and len(owners) >= self.policy.max_tracked_ids:
            # Forget the oldest tenth: the ids first seen longest ago.
            for old in list(owners)[: max(1, len(owners) // 10)]:
                del owners[old]
        owners[key] = owner

    def _check_addresses(self, subject: str, source: str, ip: str, t: float) -> None:
        window = self._addresses.get(subject)
        if window is None:
            window = self._addresses[subject] = AddressWindow()
        seen = window.add(t, ip, self.policy.address_window_seconds)
        if seen >= self.policy.address_min_count:
            start = window.events[0][0]
            self._fire(
                "ENUM006",
                subject,
                source,
                "*",
                start,
                t,
                {"addresses": seen, "requests": len(window.events)},
                None,
                {},
                list(window.addresses),
            )

    def _is_ignored(self, template: str) -> bool:
        ignored = self._ignored.get(template)
        if ignored is None:
            patterns = self.policy.ignore_routes
            ignored = any(fnmatch.fnmatchcase(template, p) for p in patterns)
            self._ignored[template] = ignored
        return ignored

    def _sweep(self, now: float) -> None:
        """Retire idle windows, feeding their peaks to the routes' baselines."""
        horizon = now - self.policy.long_window_seconds
        for key in [k for k, pair in self._pairs.items() if pair.last < horizon]:
            pair = self._pairs.pop(key)
            self._routes[key[1]].record_peak(pair.peak, self.policy)
        horizon = now - self.policy.address_window_seconds
        for subject in [s for s, w in self._addresses.items() if w.last < horizon]:
            del self._addresses[subject]
        self._next_sweep = now + _SWEEP_SECONDS

    def finish(self) -> list[Episode]:
        """The episodes that stand once the whole log is known, in a stable order."""
        policy = self.policy
        shared = {
            template
            for template, info in self._routes.items()
            if info.shared(policy)
            or any(fnmatch.fnmatchcase(template, p) for p in policy.public_routes)
        }
        flagged = {
            (e.subject, e.route)
            for e in self.episodes.values()
            if e.rule in _BURST_RULES and e.route not in shared
        }
        kept: list[Episode] = []
        for episode in self.episodes.values():
            if episode.route in shared and episode.rule in SHARED_EXEMPT:
                continue
            if episode.rule == "ENUM004" and not self._foreign_stands(episode, flagged):
                continue
            kept.append(episode)
        return sorted(kept, key=lambda e: (e.subject, e.route, e.rule))

    def _foreign_stands(self, episode: Episode, flagged: set[tuple[str, str]]) -> bool:
        """ENUM004 holds if enough foreign ids, from enough owners, remain.

        Ids whose first reader turned out to be an enumerator are dropped:
        the owner reading them later is not the one trespassing.
        """
        owned = {oid: o for oid, o in episode.owners.items() if (o, episode.route) not in flagged}
        owners = set(owned.values())
        if len(owned) < self.policy.foreign_min_ids or len(owners) < self.policy.foreign_min_owners:
            return False
        episode.counts = {"foreign_ids": len(owned), "owners": len(owners)}
        episode.samples = list(owned)[:SAMPLE_IDS]
        return True

    def retained(self) -> dict[str, int]:
        """Sizes of the bounded state, for the benchmark and for debugging."""
        return {
            "pairs": len(self._pairs),
            "owners": len(self._owners),
            "address_windows": len(self._addresses),
            "routes": len(self._routes),
        }
