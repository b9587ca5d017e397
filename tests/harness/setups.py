"""The pairs under test: which services, which feature, which mode.

A `Setup` is what one example of the state machine syncs: one pair, or two pairs sharing one
Trakt provider (and one snapshot memo), run one after the other in every run step.
"""

from dataclasses import dataclass
from typing import Final

from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.pipeline import PairSpec
from custom_components.crosswatch.engine.planner import SyncMode

from .services import Svc

W, H = Feature.WATCHLIST, Feature.HISTORY


@dataclass(frozen=True, slots=True)
class PairDef:
    """One pair: side A, side B, the feature and the mode (A is the source one-way)."""

    name: str
    a: Svc
    b: Svc
    feature: Feature
    mode: SyncMode

    @property
    def spec(self) -> PairSpec:
        return PairSpec(self.name, self.mode, frozenset({self.feature}))

    def removal_sources(self, side: Svc) -> tuple[Svc, ...]:
        """Sides whose user removals this pair may carry to `side`."""
        if self.mode is SyncMode.TWO_WAY:
            return (self.b,) if side is self.a else (self.a,) if side is self.b else ()
        if self.mode is SyncMode.SOURCE_DELETES and side is self.b:
            return (self.a,)
        return ()

    def mirrors_onto(self, side: Svc) -> Svc | None:
        """The source whose every absence this pair makes `side` copy (mirror mode)."""
        return self.a if self.mode is SyncMode.MIRROR and side is self.b else None


@dataclass(frozen=True, slots=True)
class Setup:
    """What one example syncs."""

    name: str
    pairs: tuple[PairDef, ...]
    anime: bool = False

    @property
    def sides(self) -> tuple[Svc, ...]:
        return tuple(dict.fromkeys(s for p in self.pairs for s in (p.a, p.b)))

    def feature(self, side: Svc) -> Feature:
        return next(p.feature for p in self.pairs if side in (p.a, p.b))


TRAKT_SIMKL: Final = PairDef("trakt-simkl", Svc.TRAKT, Svc.SIMKL, W, SyncMode.TWO_WAY)
TRAKT_JELLYFIN: Final = PairDef("trakt-jellyfin", Svc.TRAKT, Svc.JELLYFIN, W, SyncMode.MIRROR)
SETUPS: Final[tuple[Setup, ...]] = (
    Setup("Trakt ⇄ SIMKL watchlist, two-way", (TRAKT_SIMKL,)),
    Setup(
        "Plex ⇄ Trakt history, two-way",
        (PairDef("plex-trakt", Svc.PLEX, Svc.TRAKT, H, SyncMode.TWO_WAY),),
    ),
    Setup("Trakt → Jellyfin watchlist, mirror", (TRAKT_JELLYFIN,)),
    Setup(
        "SIMKL → Trakt watchlist, source_deletes",
        (PairDef("simkl-trakt", Svc.SIMKL, Svc.TRAKT, W, SyncMode.SOURCE_DELETES),),
    ),
    Setup(
        "AniList ⇄ SIMKL watchlist, two-way",
        (PairDef("anilist-simkl", Svc.ANILIST, Svc.SIMKL, W, SyncMode.TWO_WAY),),
        anime=True,
    ),
    Setup("two pairs on one Trakt account", (TRAKT_SIMKL, TRAKT_JELLYFIN)),
)
