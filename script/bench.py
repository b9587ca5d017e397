"""Planner benchmark: plan_feature on synthetic inventories of 10k to 1M items per side.

Each (case, size) runs in a fresh child process so that its peak RSS is its own. The child builds
both sides' snapshots (untimed), times one plan_feature call and prints one JSON line:

    {"case": ..., "items_per_side": ..., "seconds": ..., "peak_rss_mb": ..., "ops": ...}

What each case generates and what is timed is described in docs/benchmarks.md.

    script/bench                                         every case at 10k, 100k and 1M
    script/bench --cases history --sizes 100000          one measurement
    script/bench --profile --cases two_way --sizes 1000000   cProfile of one planning call
    script/bench --check-budgets                         exit non-zero when a budget is missed
"""

import argparse
from collections.abc import Callable, Iterator
import cProfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import gc
import json
from pathlib import Path
import pstats
import random
import resource
import subprocess
import sys
import time
import types
import unicodedata
import zlib

REPO = Path(__file__).resolve().parent.parent


def engine_without_home_assistant() -> None:
    """Make the engine importable without running the integration's __init__.

    That __init__ is Home Assistant glue: importing it costs ~2 s and ~70 MB of RSS that a
    benchmark of the pure engine must not count. Stand-in parent packages (as in
    tests/test_architecture.py) let Python find engine/ without executing it.
    """
    for name, path in (
        ("custom_components", REPO / "custom_components"),
        ("custom_components.crosswatch", REPO / "custom_components" / "crosswatch"),
    ):
        if name not in sys.modules:
            parent = types.ModuleType(name)
            parent.__path__ = [str(path)]
            sys.modules[name] = parent


engine_without_home_assistant()

from custom_components.crosswatch.engine.capabilities import Capabilities, HistorySupport  # noqa: E402
from custom_components.crosswatch.engine.items import MediaItem, MediaType, normalize_title  # noqa: E402
from custom_components.crosswatch.engine.payloads import Entry, Feature, Listed, Rated, Watched  # noqa: E402
from custom_components.crosswatch.engine.plan import Plan  # noqa: E402
from custom_components.crosswatch.engine.planner import (  # noqa: E402
    PairPolicy,
    SideState,
    SyncMode,
    plan_feature,
)
from custom_components.crosswatch.engine.ratings import RatingScale  # noqa: E402
from custom_components.crosswatch.engine.snapshot import Completeness, Snapshot  # noqa: E402

RAW_TO_PLAN = "raw_to_plan"  # rows to plan, keying included (script/bench_raw.py)
CASES = ("watchlist", "history", "two_way", RAW_TO_PLAN)
SIZES = (10_000, 100_000, 1_000_000)

# Budgets for a 2-core machine: items per side -> (max seconds, max peak RSS in MiB or None).
BUDGETS: dict[int, tuple[float, float | None]] = {
    100_000: (1.0, None),
    1_000_000: (10.0, 1536.0),
}
# More operations than this share of the items means the generator or the planner is broken:
# every case injects about 1 % of changes.
MAX_OPS_SHARE = 0.03

ALL_FEATURES = frozenset(Feature)
PLEX_LIKE = Capabilities(
    ALL_FEATURES,
    HistorySupport(multiple_plays=False, sets_watched_at=False),
    RatingScale.HALF_STEPS_0_10,
)
TRAKT_LIKE = Capabilities(
    ALL_FEATURES,
    HistorySupport(multiple_plays=True, sets_watched_at=True, precision=timedelta(minutes=1)),
    RatingScale.INTEGER_1_10,
)
SIMKL_LIKE = Capabilities(
    ALL_FEATURES,
    HistorySupport(multiple_plays=False, sets_watched_at=True),
    RatingScale.INTEGER_1_10,
)

_EPOCH = datetime(2012, 1, 1, tzinfo=UTC)
_SPAN_SECONDS = 14 * 365 * 86_400  # 2012 .. late 2025: room for later plays before 2026-11

_WORDS = (
    "shadow", "river", "midnight", "garden", "empire", "silent", "winter", "echo", "crimson",
    "harbor", "last", "first", "broken", "golden", "iron", "paper", "glass", "wild", "hidden",
    "lost", "city", "night", "storm", "summer", "island", "kingdom", "stranger", "mirror",
    "dragon", "ghost", "heart", "machine", "ocean", "road", "house", "song", "fire", "moon",
    "star", "queen", "king", "children", "letters", "secret", "blood", "sky", "thunder", "dust",
    "orchard", "signal", "frontier", "circus", "detective", "murder", "station", "valley",
    "forest", "desert", "memory", "dream", "promise", "revenge", "journey", "return", "rising",
    "falling", "electric", "velvet", "copper", "silver", "scarlet", "northern", "southern",
    "eastern", "western", "little", "great", "dark", "bright", "quiet", "lonely", "savage",
    "gentle", "hollow", "endless", "final", "second", "seven", "hundred", "thousand", "zero",
    "black", "white", "blue", "green", "red", "cold", "warm", "deep", "high", "low", "long",
    "short", "lady", "man", "woman", "boy", "girl", "wolf", "fox", "bird", "horse", "tiger",
    "angel", "devil", "saint", "sinner", "doctor", "captain", "agent", "thief", "soldier",
    "pilot", "hunter", "witness", "prisoner", "tomorrow", "yesterday", "forever", "never",
    "always", "almost", "paradise", "inferno", "harvest", "carnival", "requiem", "sonata",
    "café", "straße", "amélie", "łódź", "mañana", "søren", "naïve", "über", "déjà", "vu",
    "crème", "brûlée", "fjörd", "ångström", "jalapeño", "façade", "smörgåsbord", "señorita",
    "görli", "élan", "東京", "物語", "москва", "ночь", "žena", "ψυχή", "istanbul", "kyōto",
)  # fmt: skip
_SUFFIXES = (" 2", " 3", " II", " III", " Part 2", " Returns", " Reloaded", " (Director's Cut)")


def _seed(case: str, size: int) -> int:
    # crc32, not hash(): str hashes are randomized per process, the inventories must not be.
    return zlib.crc32(f"{case}:{size}".encode())


@dataclass(frozen=True, slots=True)
class _Spec:
    """What the providers agree an item is; each side builds its own MediaItem from it."""

    type: MediaType
    title: str
    year: int
    ids: dict[str, str]
    show_ids: dict[str, str] = field(default_factory=dict)
    season: int | None = None
    episode: int | None = None

    def item(self, *, respell: Callable[[str], str] | None = None) -> MediaItem:
        # Every read decodes its own copy of each string, even a show title its episodes repeat:
        # sharing one str between items would understate the memory a real read takes.
        title = respell(self.title) if respell else self.title.encode().decode()
        return MediaItem.create(
            self.type,
            title=title,
            year=self.year,
            ids=self.ids,
            show_ids=self.show_ids,
            season=self.season,
            episode=self.episode,
        )


class _Universe:
    """Distinct made-up titles with realistic id coverage; ids never collide by accident."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.serial = 0

    def title(self) -> str:
        rng = self.rng
        words = rng.sample(_WORDS, rng.choices((1, 2, 3, 4, 5), (5, 30, 35, 20, 10))[0])
        style = rng.random()
        if style < 0.70:
            text = " ".join(w.capitalize() for w in words)
        elif style < 0.85:
            text = " ".join(words).capitalize()
        elif style < 0.92:
            text = " ".join(words)
        else:
            text = " ".join(words).upper()
        shape = rng.random()
        if shape < 0.15 and len(words) > 2:
            head, _, tail = text.partition(" ")
            text = f"{head}: {tail}"
        elif shape < 0.20 and len(words) > 1:
            head, _, tail = text.rpartition(" ")
            text = f"{head} & {tail}"
        elif shape < 0.25:
            text += "!"
        elif shape < 0.30:
            head, _, tail = text.partition(" ")
            text = f"{head}'s {tail}".rstrip()
        if rng.random() < 0.10:
            text = "The " + text
        if rng.random() < 0.05:
            text += rng.choice(_SUFFIXES)
        return text

    def year(self) -> int:
        return self.rng.randint(1950, 2026)

    def ids(self, full: tuple[str, str, str]) -> dict[str, str]:
        """60 % three ids, 30 % one (tmdb, imdb or tvdb), 10 % none: title and year only."""
        self.serial += 1
        coverage = self.rng.random()
        if coverage < 0.6:
            namespaces: tuple[str, ...] = full
        elif coverage < 0.9:
            namespaces = (self.rng.choice(("tmdb", "imdb", "tvdb")),)
        else:
            return {}
        return {
            ns: f"tt{self.serial:07d}" if ns == "imdb" else str(self.serial) for ns in namespaces
        }

    def movie(self) -> _Spec:
        return _Spec(
            MediaType.MOVIE, self.title(), self.year(), self.ids(("imdb", "tmdb", "trakt"))
        )

    def show(self) -> _Spec:
        return _Spec(MediaType.SHOW, self.title(), self.year(), self.ids(("imdb", "tvdb", "tmdb")))

    def movie_or_show(self) -> _Spec:
        return self.movie() if self.rng.random() < 0.7 else self.show()

    def episodes(self) -> Iterator[_Spec]:
        """Every episode of one show that the user watched: usually whole seasons."""
        show = self.show()
        for season in range(1, self.rng.randint(1, 5) + 1):
            for number in range(1, self.rng.randint(6, 13) + 1):
                yield _Spec(MediaType.EPISODE, show.title, show.year, {}, show.ids, season, number)


def _respeller(rng: random.Random) -> Callable[[str], str]:
    """Side B's spelling of a title: its own string, often spelled differently.

    Only title-only items match by title, so only their spelling matters; the variant always
    normalizes like the original (a variant that would not is dropped), because a real second
    provider spelling a title beyond recognition is a different benchmark.
    """

    def respell(title: str) -> str:
        choice = rng.random()
        if choice < 0.2:
            variant = title.casefold()
        elif choice < 0.3:
            variant = title.upper()
        elif choice < 0.4 and title.startswith("The "):
            variant = f"{title[4:]}, The"
        elif choice < 0.5:
            variant = title.replace(" & ", " and ").replace(": ", " - ")
        elif choice < 0.6 and not title.isascii():
            variant = "".join(
                c for c in unicodedata.normalize("NFKD", title) if not unicodedata.combining(c)
            )
        else:
            variant = title
        if variant is title or normalize_title(variant) != normalize_title(title):
            return title.encode().decode()
        return variant

    return respell


def _moment(rng: random.Random) -> datetime:
    return _EPOCH + timedelta(seconds=rng.randrange(_SPAN_SECONDS))


def _own_copy(moment: datetime) -> datetime:
    """The same instant as another provider's read would parse it: its own object."""
    return datetime.fromtimestamp(moment.timestamp(), UTC)


def _to_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


@dataclass(slots=True)
class _Inventories:
    """Entries for both sides and their baselines, and how many operations the changes imply."""

    a: list[Entry] = field(default_factory=list)
    b: list[Entry] = field(default_factory=list)
    baseline_a: list[Entry] | None = None
    baseline_b: list[Entry] | None = None
    changes: int = 0  # items made to differ between the sides
    expected_ops: int = 0  # of those, the ones that should turn into an operation


def _watchlist(rng: random.Random, size: int) -> _Inventories:
    """First run, add_only: 0.7 % missing on B (adds), 0.3 % only on B (ignored by add_only)."""
    universe, respell = _Universe(rng), _respeller(rng)
    result = _Inventories()
    for _ in range(size):
        spec = universe.movie_or_show()
        fate = rng.random()
        listed_at = _moment(rng)
        if fate < 0.003:
            result.b.append(Entry(spec.item(respell=respell), Listed(listed_at)))
            result.changes += 1
            continue
        item_a = spec.item()
        result.a.append(Entry(item_a, Listed(listed_at)))
        if fate < 0.010:
            result.changes += 1
            result.expected_ops += int(item_a.has_external_ids)
            continue
        # Trakt's listed_at is its own record of the listing: a second later, say.
        result.b.append(Entry(spec.item(respell=respell), Listed(listed_at + timedelta(seconds=1))))
    return result


def _history(rng: random.Random, size: int) -> _Inventories:
    """Plex-like A -> Trakt-like B, add_only with baselines; 80 % episodes.

    B keeps each play truncated to the minute, A a watched state to the second. A third of the
    items have a higher play count on A than plays on B (plays from before Trakt was connected)
    with the same last play, so the planner has to match plays within the one-minute tolerance.
    Changes: 0.4 % newly watched on A, 0.4 % rewatched on A, 0.1 % removed from B's history
    since the last sync (kept removed), 0.1 % watched on B only.
    """
    universe, respell = _Universe(rng), _respeller(rng)
    base_a: list[Entry] = []
    base_b: list[Entry] = []
    result = _Inventories(baseline_a=base_a, baseline_b=base_b)

    episodes: Iterator[_Spec] = iter(())
    for _ in range(size):
        spec = None if rng.random() >= 0.2 else universe.movie()
        while spec is None:
            # Histories come show by show: a show's episodes follow each other.
            spec = next(episodes, None)
            if spec is None:
                episodes = universe.episodes()
        last = _moment(rng)
        plays_b = 1 if spec.type is MediaType.EPISODE else rng.choice((1, 1, 1, 2, 3))
        extra_on_a = rng.randint(1, 2) if rng.random() < 1 / 3 else 0
        state_a = Watched.from_state(plays_b + extra_on_a, last)
        fate = rng.random()
        if fate < 0.001:
            plays = _plays_to_minute(last, plays_b)
            result.b.append(Entry(spec.item(respell=respell), Watched.from_plays(plays)))
            result.changes += 1
            continue
        item_a = spec.item()
        entry_a = Entry(item_a, state_a)
        if fate < 0.005:  # newly watched on A
            result.a.append(entry_a)
            result.changes += 1
            result.expected_ops += int(item_a.has_external_ids)
            continue
        if fate < 0.006:  # removed from B's history since the last sync
            result.a.append(entry_a)
            base_a.append(entry_a)
            plays = _plays_to_minute(last, plays_b)
            base_b.append(Entry(spec.item(respell=respell), Watched.from_plays(plays)))
            result.changes += 1
            continue
        entry_b = Entry(
            spec.item(respell=respell), Watched.from_plays(_plays_to_minute(last, plays_b))
        )
        result.b.append(entry_b)
        base_b.append(entry_b)
        if fate < 0.010:  # rewatched on A since the last sync
            rewatched = last + timedelta(days=rng.randint(1, 300), seconds=rng.randrange(86_400))
            result.a.append(Entry(item_a, Watched.from_state(state_a.play_count + 1, rewatched)))
            base_a.append(entry_a)
            result.changes += 1
            result.expected_ops += 1
            continue
        result.a.append(entry_a)
        base_a.append(entry_a)
    return result


def _plays_to_minute(last: datetime, count: int) -> tuple[datetime, ...]:
    """Trakt's plays for an item last watched at `last`: earlier ones some days apart."""
    return tuple(_to_minute(last - timedelta(days=7 * back)) for back in range(count))


def _two_way(rng: random.Random, size: int) -> _Inventories:
    """Two-way ratings with both baselines.

    Changes: 0.4 % newly rated on A, 0.3 % unrated on B since the last sync, 0.3 % re-rated on
    one side (half on A, half on B). Unchanged items share their Entry between the snapshot and
    its baseline, as values a store hands back equal would.
    """
    universe, respell = _Universe(rng), _respeller(rng)
    base_a: list[Entry] = []
    base_b: list[Entry] = []
    result = _Inventories(baseline_a=base_a, baseline_b=base_b)
    for _ in range(size):
        spec = universe.movie_or_show()
        value = float(rng.randint(1, 10))
        rated_at = _moment(rng)
        fate = rng.random()
        item_a = spec.item()
        entry_a = Entry(item_a, Rated(value, rated_at))
        if fate < 0.004:  # newly rated on A
            result.a.append(entry_a)
            result.changes += 1
            result.expected_ops += int(item_a.has_external_ids)
            continue
        entry_b = Entry(spec.item(respell=respell), Rated(value, _own_copy(rated_at)))
        base_a.append(entry_a)
        base_b.append(entry_b)
        if fate < 0.007:  # unrated on B since the last sync: the removal propagates to A
            result.a.append(entry_a)
            result.changes += 1
            result.expected_ops += int(item_a.has_external_ids)
            continue
        if fate < 0.010:  # re-rated on one side, later than the last sync
            changed_value = float(rng.choice([v for v in range(1, 11) if v != value]))
            later = rated_at + timedelta(days=rng.randint(1, 300))
            if fate < 0.0085:
                result.a.append(Entry(item_a, Rated(changed_value, later)))
                result.b.append(entry_b)
            else:
                result.a.append(entry_a)
                result.b.append(Entry(entry_b.item, Rated(changed_value, later)))
            result.changes += 1
            result.expected_ops += 1
            continue
        result.a.append(entry_a)
        result.b.append(entry_b)
    return result


@dataclass(frozen=True, slots=True)
class _Case:
    policy: PairPolicy
    feature: Feature
    capabilities: tuple[Capabilities, Capabilities]
    names: tuple[str, str]
    generate: Callable[[random.Random, int], _Inventories]


_CASES = {
    "watchlist": _Case(
        PairPolicy(SyncMode.ADD_ONLY),
        Feature.WATCHLIST,
        (PLEX_LIKE, TRAKT_LIKE),
        ("plex", "trakt"),
        _watchlist,
    ),
    "history": _Case(
        PairPolicy(SyncMode.ADD_ONLY),
        Feature.HISTORY,
        (PLEX_LIKE, TRAKT_LIKE),
        ("plex", "trakt"),
        _history,
    ),
    "two_way": _Case(
        PairPolicy(SyncMode.TWO_WAY),
        Feature.RATINGS,
        (TRAKT_LIKE, SIMKL_LIKE),
        ("trakt", "simkl"),
        _two_way,
    ),
}


def _snapshot(provider: str, feature: Feature, entries: list[Entry]) -> Snapshot:
    return Snapshot.build(
        provider,
        feature,
        entries,
        Completeness(all_pages=True, expected_total=len(entries), seen_total=len(entries)),
    )


@dataclass(frozen=True, slots=True)
class _Prepared:
    policy: PairPolicy
    a: SideState
    b: SideState
    changes: int
    expected_ops: int


def _prepare(case_name: str, size: int) -> _Prepared:
    case = _CASES[case_name]
    # Reproducible synthetic inventories, not secrets.
    rng = random.Random(_seed(case_name, size))  # noqa: S311
    inventories = case.generate(rng, size)
    name_a, name_b = case.names
    caps_a, caps_b = case.capabilities
    base_a, base_b = inventories.baseline_a, inventories.baseline_b
    side_a = SideState(
        name_a,
        caps_a,
        _snapshot(name_a, case.feature, inventories.a),
        _snapshot(name_a, case.feature, base_a) if base_a is not None else None,
    )
    side_b = SideState(
        name_b,
        caps_b,
        _snapshot(name_b, case.feature, inventories.b),
        _snapshot(name_b, case.feature, base_b) if base_b is not None else None,
    )
    return _Prepared(case.policy, side_a, side_b, inventories.changes, inventories.expected_ops)


def _check_plan(case: str, size: int, prepared: _Prepared, plan: Plan) -> None:
    """Exit non-zero when the plan's size does not fit the changes that were injected."""
    ops = len(plan.operations)
    floor = max(1, prepared.expected_ops // 2)
    ceiling = MAX_OPS_SHARE * size
    if not floor <= ops <= ceiling:
        sys.exit(
            f"bench: {case} at {size}: the plan has {ops} operations, outside the plausible"
            f" {floor}..{ceiling:.0f} for {prepared.changes} injected changes"
            f" ({prepared.expected_ops} expected to need an operation): counts {plan.counts()}"
        )


def _measure(case: str, size: int) -> dict[str, object]:
    if case == RAW_TO_PLAN:
        from bench_raw import measure  # noqa: PLC0415 - it imports this module

        return measure(size)
    prepared = _prepare(case, size)
    # Garbage from generation is not the planner's to collect.
    gc.collect()
    start = time.perf_counter()
    plan = plan_feature(prepared.policy, prepared.a, prepared.b)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _check_plan(case, size, prepared, plan)
    return {
        "case": case,
        "items_per_side": size,
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(peak_kib / 1024, 1),
        "ops": len(plan.operations),
    }


def _profile(case: str, size: int) -> None:
    prepared = _prepare(case, size)
    gc.collect()
    profiler = cProfile.Profile()
    plan = profiler.runcall(plan_feature, prepared.policy, prepared.a, prepared.b)
    _check_plan(case, size, prepared, plan)
    print(f"profile: {case} at {size} items per side, {len(plan.operations)} operations")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(20)


def _budget_checks(result: dict[str, object]) -> list[tuple[bool, str]]:
    """Each budget that applies to `result`: whether it was met, and how it reads."""
    case, size = result["case"], result["items_per_side"]
    seconds, rss = result["seconds"], result["peak_rss_mb"]
    if not isinstance(size, int) or not isinstance(seconds, float) or not isinstance(rss, float):
        return [(False, f"{case} {size}: malformed result {result}")]
    budget = _budgets(str(case)).get(size)
    if budget is None:
        return []
    max_seconds, max_rss = budget
    checks = [(seconds <= max_seconds, f"{case} {size} {seconds} s vs {max_seconds:g} s")]
    if max_rss is not None:
        checks.append((rss <= max_rss, f"{case} {size} {rss} MB vs {max_rss:g} MB"))
    return checks


def _budgets(case: str) -> dict[int, tuple[float, float | None]]:
    if case == RAW_TO_PLAN:
        from bench_raw import RAW_TO_PLAN_BUDGETS  # noqa: PLC0415 - it imports this module

        return RAW_TO_PLAN_BUDGETS
    return BUDGETS


def _run_all(cases: list[str], sizes: list[int], *, check_budgets: bool) -> int:
    checks: list[tuple[bool, str]] = []
    failures: list[str] = []
    for case in cases:
        for size in sizes:
            # A fresh interpreter per measurement: peak RSS is a high-water mark per process.
            child = subprocess.run(
                [sys.executable, str(REPO / "script" / "bench.py"), "--one", case, str(size)],
                stdout=subprocess.PIPE,
                text=True,
                check=False,
            )
            if child.returncode != 0:
                failures.append(f"{case} {size} (exit {child.returncode})")
                continue
            line = child.stdout.strip()
            print(line, flush=True)
            checks.extend(_budget_checks(json.loads(line)))
    if failures:
        print(f"bench: measurements failed: {'; '.join(failures)}", file=sys.stderr)
    met = [text for ok, text in checks if ok]
    missed = [text for ok, text in checks if not ok]
    if not checks:
        summary = "none apply to these sizes (only 100000 and 1000000 have budgets)"
    else:
        summary = f"{len(met)} of {len(checks)} met [{'; '.join(met)}]"
        if missed:
            summary += f", MISSED [{'; '.join(missed)}]"
    print(f"budgets: {summary}", file=sys.stderr)
    if failures:
        return 1
    return 1 if missed and check_budgets else 0


def _csv(convert: Callable[[str], object]) -> Callable[[str], list[object]]:
    def parse(text: str) -> list[object]:
        return [convert(part.strip()) for part in text.split(",") if part.strip()]

    return parse


def _case_name(text: str) -> str:
    if text not in CASES:
        raise argparse.ArgumentTypeError(f"unknown case {text!r}; known: {', '.join(CASES)}")
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--sizes", type=_csv(int), default=list(SIZES), help="items per side, comma separated"
    )
    parser.add_argument(
        "--cases", type=_csv(_case_name), default=list(CASES), help="cases, comma separated"
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile one case and size (top 20 cumulative)"
    )
    parser.add_argument(
        "--check-budgets", action="store_true", help="exit non-zero when a budget is missed"
    )
    parser.add_argument("--one", nargs=2, metavar=("CASE", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    cases = [str(case) for case in args.cases]
    sizes = [int(size) for size in args.sizes]
    if args.one:
        case, size = _case_name(args.one[0]), int(args.one[1])
        print(json.dumps(_measure(case, size)), flush=True)
        return 0
    if args.profile:
        if len(cases) != 1 or len(sizes) != 1:
            parser.error("--profile needs exactly one case (--cases) and one size (--sizes)")
        _profile(cases[0], sizes[0])
        return 0
    return _run_all(cases, sizes, check_budgets=args.check_budgets)


if __name__ == "__main__":
    sys.exit(main())
