"""Properties every plan must have, over generated pairs of inventories.

The generator builds a small world of titles that both sides may hold, each side knowing a title
by a different subset of its ids (or by title only, or by a server-local id), with payloads that
suit each side's capabilities, optional baselines and, where allowed, partial reads.
"""

from dataclasses import dataclass, replace
from datetime import timedelta
import random

from hypothesis import given, strategies as st

from custom_components.crosswatch.engine.capabilities import Capabilities
from custom_components.crosswatch.engine.items import MatchTier, MediaItem, MediaType
from custom_components.crosswatch.engine.payloads import (
    Entry,
    Feature,
    Listed,
    Payload,
    Rated,
    Watched,
)
from custom_components.crosswatch.engine.plan import Action, PairSide, Plan, Seen
from custom_components.crosswatch.engine.planner import (
    PairPolicy,
    SideState,
    SyncMode,
    plan_feature,
)
from custom_components.crosswatch.engine.ratings import quantize
from custom_components.crosswatch.engine.snapshot import Completeness, Snapshot, partial

from .factories import ANILIST, JELLYFIN, PLEX, SIMKL, T0, TRAKT

CAPABILITIES = (TRAKT, SIMKL, PLEX, JELLYFIN, ANILIST)
TITLES = 6
SYNC_TIME = T0 + timedelta(days=3650)  # what a provider that cannot backdate records
ID_CHOICES = ("all", "imdb", "tmdb", "tvdb", "imdb+tmdb", "title", "local")

type Inventory = dict[int, Entry]  # title number -> that side's copy


@dataclass(frozen=True)
class World:
    mode: SyncMode
    feature: Feature
    caps: tuple[Capabilities, Capabilities]
    truth: tuple[Inventory, Inventory]  # what each provider really holds
    reads: tuple[Inventory, Inventory]  # what this run's reads returned
    complete: tuple[bool, bool]
    baselines: tuple[Inventory | None, Inventory | None]


def item_for(side: int, title: int, how: str, episode: bool) -> MediaItem:
    """Side `side`'s copy of title `title`, known by the ids `how` names."""
    all_ids = {"imdb": f"tt{1_000_000 + title}", "tmdb": 100 + title, "tvdb": 500 + title}
    if how == "all":
        ids: dict[str, object] = all_ids
    elif how in ("title", "local"):
        ids = {}
    else:
        ids = {name: all_ids[name] for name in how.split("+")}
    if how == "local":  # a server-local id only: Jellyfin on side A, Emby on side B
        ids = {"jellyfin": f"{title + 1:032x}"} if side == 0 else {"emby": 9000 + title}
    name = f"Title {title}" if side == 0 else f"title {title}!"
    if episode:
        return MediaItem.create(
            MediaType.EPISODE,
            title=name,
            year=2000 + title,
            show_ids=ids,
            season=1,
            episode=title + 1,
        )
    return MediaItem.create(MediaType.MOVIE, title=name, year=2000 + title, ids=ids)


def payload_for(feature: Feature, caps: Capabilities, rng: random.Random) -> Payload:
    if feature is Feature.WATCHLIST:
        return Listed(T0 + timedelta(days=rng.randrange(100)))
    if feature is Feature.RATINGS:
        value = quantize(caps.rating_scale, rng.randrange(10, 101) / 10)
        rated_at = T0 + timedelta(days=rng.randrange(100)) if rng.random() < 0.8 else None
        return Rated(value, rated_at)
    history = caps.history
    days = sorted(rng.sample(range(1, 300), rng.randrange(1, 4)))
    if history.multiple_plays:
        return Watched.from_plays([T0 + timedelta(days=d) for d in days])
    last = T0 + timedelta(days=days[-1], seconds=rng.randrange(60))
    return Watched.from_state(len(days), last)


@st.composite
def worlds(draw: st.DrawFn, *, allow_partial: bool) -> World:
    rng = draw(st.randoms(use_true_random=False))
    feature = draw(st.sampled_from(Feature))
    caps = (draw(st.sampled_from(CAPABILITIES)), draw(st.sampled_from(CAPABILITIES)))
    episode = draw(st.booleans())

    def inventory(side: int) -> Inventory:
        held = draw(st.sets(st.integers(0, TITLES - 1)))
        return {
            title: Entry(
                item_for(side, title, draw(st.sampled_from(ID_CHOICES)), episode),
                payload_for(feature, caps[side], rng),
            )
            for title in sorted(held)
        }

    truth = (inventory(0), inventory(1))
    baselines = tuple(inventory(side) if draw(st.booleans()) else None for side in (0, 1))
    complete = (True, True)
    reads = truth
    if allow_partial:
        complete = (draw(st.booleans()), draw(st.booleans()))
        reads = tuple(
            truth[side]
            if complete[side]
            else {t: e for t, e in truth[side].items() if draw(st.booleans())}
            for side in (0, 1)
        )  # type: ignore[assignment]
    return World(draw(st.sampled_from(SyncMode)), feature, caps, truth, reads, complete, baselines)  # type: ignore[arg-type]


def snapshot_of(world: World, inventory: Inventory, complete: bool, provider: str) -> Snapshot:
    completeness = Completeness(all_pages=True) if complete else partial("truncated page")
    return Snapshot.build(provider, world.feature, list(inventory.values()), completeness)


def plan_world(
    world: World,
    reads: tuple[Inventory, Inventory] | None = None,
    complete: tuple[bool, bool] | None = None,
) -> Plan:
    reads = reads or world.reads
    complete = complete or world.complete
    sides = []
    for side, name in ((0, "A"), (1, "B")):
        baseline = world.baselines[side]
        sides.append(
            SideState(
                name,
                world.caps[side],
                snapshot_of(world, reads[side], complete[side], name),
                None if baseline is None else snapshot_of(world, baseline, True, name),
            )
        )
    return plan_feature(PairPolicy(world.mode), sides[0], sides[1])


def find(inventory: Inventory, item: MediaItem) -> int | None:
    """The title number of the entry that is `item` (by key or any token)."""
    wanted = {item.key, *item.tokens, *item.local_tokens}
    for title, entry in inventory.items():
        if wanted & {entry.item.key, *entry.item.tokens, *entry.item.local_tokens}:
            return title
    return None


def stored(payload: Payload, caps: Capabilities, existing: Payload | None) -> Payload:
    """What a provider with `caps` keeps after being sent `payload`."""
    match payload:
        case Rated(value=value, rated_at=rated_at):
            return Rated(quantize(caps.rating_scale, value), rated_at)
        case Watched(plays=plays, last_watched_at=last):
            if caps.history.multiple_plays:
                sent = plays or (last or SYNC_TIME,)
                before = existing.plays if isinstance(existing, Watched) else ()
                return Watched.from_plays([*before, *sent])
            return Watched.from_state(
                1, last if caps.history.sets_watched_at and last else SYNC_TIME
            )
    return payload


def apply(world: World, result: Plan) -> tuple[Inventory, Inventory]:
    """What the providers hold after every operation of `result` was written."""
    truth = [dict(world.truth[0]), dict(world.truth[1])]
    for op in result.operations:
        side = 0 if op.side is PairSide.A else 1
        inventory, caps = truth[side], world.caps[side]
        title = find(inventory, op.item)
        if op.action is Action.REMOVE:
            assert title is not None
            del inventory[title]
        elif op.action in (Action.ADD, Action.UPDATE):
            assert op.payload is not None
            if title is None:
                title = int(op.item.title.split()[-1].rstrip("!")) if op.item.title else -1
                item = replace(op.item, local_tokens=(), key=op.item.tokens[0])
                inventory[title] = Entry(item, stored(op.payload, caps, None))
            else:
                old = inventory[title]
                inventory[title] = Entry(old.item, stored(op.payload, caps, old.payload))
    return truth[0], truth[1]


@given(worlds(allow_partial=True))
def test_planning_is_deterministic(world: World) -> None:
    first = plan_world(world)
    again = plan_world(world)
    shuffled = plan_world(world, reads=tuple(dict(reversed(list(r.items()))) for r in world.reads))  # type: ignore[arg-type]

    assert first.to_json() == again.to_json() == shuffled.to_json()


@given(worlds(allow_partial=False))
def test_after_applying_a_plan_the_next_plan_is_empty(world: World) -> None:
    first = plan_world(world)
    after = apply(world, first)

    second = plan_world(world, reads=after)

    assert second.operations == (), second.to_json()


@given(worlds(allow_partial=True))
def test_no_removal_comes_from_a_partial_snapshot_or_a_weak_match(world: World) -> None:
    result = plan_world(world)

    for op in result.operations:
        if op.action is not Action.REMOVE:
            continue
        other = 1 if op.side is PairSide.A else 0
        assert op.match is MatchTier.STRONG
        assert op.item.has_external_ids
        assert world.complete[other], "removal evidenced by a partial read"
        assert (op.evidence.a_complete, op.evidence.b_complete)[other]
        # The other side really does not hold it: no copy shares an external id with it.
        for entry in world.truth[other].values():
            assert set(entry.item.tokens).isdisjoint(op.item.tokens)
        if world.mode is SyncMode.TWO_WAY:
            assert op.evidence.baseline_a is Seen.PRESENT
            assert op.evidence.baseline_b is Seen.PRESENT


@given(worlds(allow_partial=False), st.booleans())
def test_two_unchanged_sides_plan_nothing(world: World, with_baselines: bool) -> None:
    # Both sides hold the same titles, by the same ids, with the same payloads.
    same = {t: e for t, e in world.truth[0].items() if e.item.has_external_ids}
    caps = (world.caps[0], world.caps[0])
    unchanged = replace(
        world,
        caps=caps,
        truth=(same, same),
        reads=(same, same),
        baselines=(same, same) if with_baselines else (None, None),
    )

    assert plan_world(unchanged).operations == ()
