"""Niort's commercial centre, schematic: streets, 40 shops with 50 sensors, and who comes when.

The map is a simplification of the real centre (place de la Brèche, rue Victor-Hugo, rue Ricard,
rue Sainte-Marthe, les Halles, rue du Temple, rue Saint-Jean, rue des Cordeliers): straight street
segments between crossings, metres, x east and y north. Lengths and the order of places follow the
real town; the shops are typical of it but invented (no real business is named).

Why shop visits are drawn per shop and not as a share of the street: a bakery fills at 8 h and at
noon, a restaurant at lunch, a clothes shop in the afternoon and on Saturday, les Halles on market
mornings, while the street's flow follows commuters and strollers. Tying visitors to street arrivals
(the first simulator) made a sensor's street count follow its shop's occupancy by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

# --- the map -------------------------------------------------------------------------------------

NODES: dict[str, tuple[float, float]] = {
    "breche-w": (-110.0, 0.0),
    "breche-c": (0.0, 0.0),
    "breche-e": (110.0, 0.0),
    "vh-mid": (235.0, 115.0),
    "halles-s": (370.0, 235.0),
    "halles-n": (425.0, 300.0),
    "ricard-mid": (75.0, 175.0),
    "temple": (200.0, 255.0),
    "marthe-n": (305.0, 385.0),
    "st-jean-e": (545.0, 345.0),
    "cordeliers-w": (-70.0, 175.0),
}


@dataclass(frozen=True)
class StreetSpec:
    """One straight stretch of a street between two crossings; ``width`` from facade to facade."""

    street: str
    a: str
    b: str
    width: float


STREETS: tuple[StreetSpec, ...] = (
    StreetSpec("place de la Brèche", "breche-w", "breche-c", 30.0),
    StreetSpec("place de la Brèche", "breche-c", "breche-e", 30.0),
    StreetSpec("rue Victor-Hugo", "breche-e", "vh-mid", 11.0),
    StreetSpec("rue Victor-Hugo", "vh-mid", "halles-s", 11.0),
    StreetSpec("rue Ricard", "breche-c", "ricard-mid", 10.0),
    StreetSpec("rue Ricard", "ricard-mid", "temple", 10.0),
    StreetSpec("rue du Temple", "vh-mid", "temple", 8.0),
    StreetSpec("rue Sainte-Marthe", "temple", "marthe-n", 9.0),
    StreetSpec("rue Sainte-Marthe", "marthe-n", "halles-n", 9.0),
    StreetSpec("place des Halles", "halles-s", "halles-n", 24.0),
    StreetSpec("rue Saint-Jean", "halles-n", "st-jean-e", 8.0),
    StreetSpec("rue des Cordeliers", "breche-w", "cordeliers-w", 8.0),
    StreetSpec("rue des Cordeliers", "cordeliers-w", "ricard-mid", 8.0),
)

# Where people come from and go to (car parks, bus stops, the streets out of the centre), weights.
ENTRIES: dict[str, float] = {
    "breche-c": 0.28,  # the Brèche car park and buses
    "breche-w": 0.10,
    "breche-e": 0.12,
    "halles-n": 0.12,
    "st-jean-e": 0.10,
    "marthe-n": 0.10,
    "cordeliers-w": 0.08,
    "halles-s": 0.10,
}

# --- shop kinds: hours, visits, dwell, curves ------------------------------------------------------

# Relative visit rates per local hour (index = hour), by kind of shop.
CURVES: dict[str, dict[int, float]] = {
    "bakery": {7: 0.8, 8: 1.0, 9: 0.6, 10: 0.4, 11: 0.7, 12: 1.0, 13: 0.6, 14: 0.2, 15: 0.2, 16: 0.4, 17: 0.7, 18: 0.9},
    "cafe": {8: 0.6, 9: 0.7, 10: 0.7, 11: 0.6, 12: 1.0, 13: 0.8, 14: 0.5, 15: 0.5, 16: 0.7, 17: 0.8, 18: 0.7},
    "restaurant": {11: 0.2, 12: 1.0, 13: 0.6, 14: 0.05, 18: 0.1, 19: 0.6, 20: 0.5},
    "fashion": {10: 0.4, 11: 0.6, 12: 0.4, 13: 0.3, 14: 0.7, 15: 0.9, 16: 1.0, 17: 1.0, 18: 0.6},
    "services": {9: 0.7, 10: 1.0, 11: 1.0, 12: 0.4, 14: 0.8, 15: 0.9, 16: 0.9, 17: 0.8, 18: 0.4},
    "pharmacy": {9: 0.8, 10: 1.0, 11: 1.0, 12: 0.7, 13: 0.4, 14: 0.7, 15: 0.8, 16: 0.9, 17: 1.0, 18: 0.8},
    "store": {9: 0.4, 10: 0.6, 11: 0.8, 12: 1.0, 13: 0.7, 14: 0.6, 15: 0.7, 16: 0.8, 17: 1.0, 18: 0.9},
    "market": {7: 0.5, 8: 0.9, 9: 1.0, 10: 1.0, 11: 0.9, 12: 0.6, 13: 0.2},
}

# Street flow not bound for a sensored shop (commuters, strollers, other shops), per local hour.
PASSING: dict[int, float] = {
    7: 0.25,
    8: 0.55,
    9: 0.55,
    10: 0.7,
    11: 0.85,
    12: 1.0,
    13: 0.9,
    14: 0.75,
    15: 0.8,
    16: 0.9,
    17: 1.0,
    18: 0.85,
    19: 0.45,
    20: 0.25,
    21: 0.12,
}


@dataclass(frozen=True)
class ShopKind:
    """What a kind of shop does: its hours, its customers' stay (minutes, log-normal) and its staff."""

    curve: str
    open_hour: float
    close_hour: float
    dwell_min: tuple[float, float]  # median and the log-normal sigma
    staff: int
    fixed: int
    sunday: bool = False  # open on Sunday morning
    monday: bool = True  # open on Monday


KINDS: dict[str, ShopKind] = {
    "bakery": ShopKind("bakery", 7.0, 19.5, (3.0, 0.5), 3, 2, sunday=True),
    "cafe": ShopKind("cafe", 8.0, 20.0, (28.0, 0.6), 3, 2, sunday=True),
    "restaurant": ShopKind("restaurant", 11.5, 22.0, (55.0, 0.35), 4, 2),
    "fashion": ShopKind("fashion", 10.0, 19.0, (14.0, 0.6), 2, 1, monday=False),
    "services": ShopKind("services", 9.0, 18.5, (18.0, 0.5), 2, 2, monday=False),
    "pharmacy": ShopKind("pharmacy", 9.0, 19.0, (6.0, 0.5), 4, 2),
    "store": ShopKind("store", 9.0, 19.5, (18.0, 0.6), 8, 3),
    "market": ShopKind("market", 7.0, 13.5, (30.0, 0.5), 10, 2, sunday=True, monday=False),
}


@dataclass(frozen=True)
class CityShop:
    """A shop on a street stretch: ``at`` metres from the stretch's first crossing, on ``side`` (+1 left
    of the stretch's direction, -1 right); ``visits`` per ordinary weekday; ``sensors`` inside it."""

    shop_id: str
    name: str
    kind: str
    stretch: int
    at: float
    width: float
    depth: float
    side: int
    visits: float
    sensors: int = 1
    zone: str = "centre"


def _s(shop_id: str, name: str, kind: str, stretch: int, at: float, width: float, depth: float, side: int,
       visits: float, sensors: int = 1) -> CityShop:  # fmt: skip
    return CityShop(shop_id, name, kind, stretch, at, width, depth, side, visits, sensors)


# 40 shops, 50 sensors: 33 shops with one sensor, 5 with two, the department store with three, les
# Halles with four. Visits are per ordinary weekday (Tuesday); see DAY_FACTORS for the others.
SHOPS: tuple[CityShop, ...] = (
    # place de la Brèche (north side: cafés and restaurants facing the square)
    _s("br-cafe-theatre", "Café du Théâtre", "cafe", 0, 30, 14, 14, 1, 160, 2),
    _s("br-brasserie", "Brasserie de la Brèche", "restaurant", 0, 70, 16, 16, 1, 120, 2),
    _s("br-glacier", "Glacier des Arcades", "cafe", 1, 20, 9, 10, 1, 90),
    _s("br-optique", "Optique de la Brèche", "services", 1, 55, 9, 12, 1, 30),
    _s("br-tabac", "Tabac-presse du Donjon", "pharmacy", 1, 85, 7, 9, 1, 220),
    # rue Victor-Hugo (the main shopping street)
    _s("vh-boulangerie", "Boulangerie Victor-Hugo", "bakery", 2, 20, 8, 10, -1, 380),
    _s("vh-mode", "Mode & Co", "fashion", 2, 45, 12, 16, 1, 110),
    _s("vh-chaussures", "Chaussures du Centre", "fashion", 2, 70, 9, 14, -1, 60),
    _s("vh-librairie", "Librairie des Halles", "services", 2, 95, 12, 18, 1, 140),
    _s("vh-pharmacie", "Pharmacie Victor-Hugo", "pharmacy", 2, 120, 10, 14, -1, 260),
    _s("vh-grand-magasin", "Grand Magasin Victor-Hugo", "store", 2, 150, 36, 30, 1, 1100, 3),
    _s("vh-parfumerie", "Parfumerie Hugo", "fashion", 3, 15, 8, 12, -1, 70),
    _s("vh-telephonie", "Boutique Téléphonie", "services", 3, 40, 8, 12, 1, 45),
    _s("vh-bijouterie", "Bijouterie Saint-André", "services", 3, 65, 7, 10, -1, 20),
    _s("vh-jouets", "Le Coffre à Jouets", "fashion", 3, 95, 14, 18, 1, 80, 2),
    _s("vh-optique", "Optique Victor-Hugo", "services", 3, 125, 8, 12, -1, 25),
    _s("vh-cafe", "Le Victor", "cafe", 3, 160, 10, 12, 1, 130),
    # rue Ricard
    _s("ri-boulangerie", "Boulangerie Ricard", "bakery", 4, 40, 8, 10, 1, 300),
    _s("ri-fromagerie", "Fromagerie Ricard", "services", 4, 80, 7, 10, -1, 90),
    _s("ri-mode-homme", "Ricard Homme", "fashion", 4, 120, 10, 14, 1, 45),
    _s("ri-sport", "Sport Ricard", "fashion", 4, 160, 16, 20, -1, 90, 2),
    _s("ri-banque", "Banque du Poitou", "services", 5, 30, 12, 15, 1, 60),
    _s("ri-fleuriste", "Fleurs Ricard", "services", 5, 70, 7, 9, -1, 50),
    _s("ri-creperie", "Crêperie Ricard", "restaurant", 5, 105, 9, 12, 1, 70),
    # rue du Temple
    _s("te-disques", "Disques du Temple", "services", 6, 40, 8, 12, 1, 35),
    _s("te-bistrot", "Bistrot du Temple", "restaurant", 6, 90, 10, 14, -1, 80),
    # rue Sainte-Marthe
    _s("sm-epicerie", "Épicerie Sainte-Marthe", "store", 7, 40, 12, 16, 1, 260, 2),
    _s("sm-coiffure", "Salon Sainte-Marthe", "services", 7, 85, 8, 12, -1, 30),
    _s("sm-pharmacie", "Pharmacie Sainte-Marthe", "pharmacy", 7, 120, 9, 12, 1, 180),
    _s("sm-mode", "Atelier Marthe", "fashion", 8, 40, 9, 12, -1, 45),
    _s("sm-cave", "Cave Sainte-Marthe", "services", 8, 90, 8, 12, 1, 35),
    # les Halles: the market hall and the square around it
    _s("ha-halles", "Les Halles de Niort", "market", 9, 45, 60, 40, 1, 900, 4),
    _s("ha-boulangerie", "Boulangerie des Halles", "bakery", 9, 30, 8, 10, -1, 320),
    _s("ha-cafe", "Café des Halles", "cafe", 9, 60, 12, 12, -1, 180),
    # rue Saint-Jean
    _s("sj-brocante", "Brocante Saint-Jean", "services", 10, 40, 10, 14, 1, 20),
    _s("sj-the", "Salon de thé Saint-Jean", "cafe", 10, 80, 9, 12, -1, 70),
    _s("sj-librairie", "Bouquinerie Saint-Jean", "services", 10, 110, 8, 12, 1, 30),
    # rue des Cordeliers
    _s("co-pizzeria", "Pizzeria des Cordeliers", "restaurant", 11, 80, 10, 14, 1, 70),
    _s("co-velo", "Cycles Cordeliers", "services", 12, 50, 10, 14, -1, 25),
    _s("co-superette", "Supérette Cordeliers", "store", 12, 100, 10, 14, 1, 220),
)

# Weekday (Monday = 0) factor on visits and street flow, and market mornings at les Halles.
DAY_FACTORS: dict[int, float] = {0: 0.65, 1: 0.85, 2: 0.9, 3: 0.9, 4: 0.95, 5: 1.35, 6: 0.3}
MARKET_DAYS = frozenset({3, 5})  # Thursday and Saturday: the open-air market around les Halles
MARKET_BOOST = 2.2

# Calibration to "about 20,000 devices a day, about 3 million probe requests" on a market Saturday.
PASSING_PER_DAY = 12_500.0  # trips through the centre on an ordinary weekday, entering no sensored shop
CHAIN_SHARE = 0.45  # a visit followed by another shop's visit on the same trip
RETURN_SHARE = 0.08  # shoppers who come back for a second trip later the same day, same phone
PHONE_SHARE = 0.92  # people carrying a phone that probes


@dataclass(frozen=True)
class CityScenario:
    """A city centre to simulate: the streets, the shops (all, or a slice of them) and the crowd's scale."""

    name: str
    shops: tuple[CityShop, ...]
    streets: tuple[StreetSpec, ...] = STREETS
    nodes: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(NODES))
    entries: dict[str, float] = field(default_factory=lambda: dict(ENTRIES))
    scale: float = 1.0  # multiplies every arrival (visits and passers-through)
    phone_share: float = PHONE_SHARE

    @property
    def sensor_count(self) -> int:
        return sum(s.sensors for s in self.shops)

    def scaled(self, factor: float) -> CityScenario:
        return replace(self, scale=self.scale * factor)


def day_factor(day: date) -> float:
    """How busy the centre is on ``day`` against an ordinary weekday (1.0)."""
    return DAY_FACTORS[day.weekday()]


def is_market_day(day: date) -> bool:
    return day.weekday() in MARKET_DAYS


def is_open(kind: ShopKind, day: date) -> bool:
    wd = day.weekday()
    return not ((wd == 6 and not kind.sunday) or (wd == 0 and not kind.monday))


def close_hour(kind: ShopKind, day: date) -> float:
    """Sunday openings are mornings only."""
    return min(kind.close_hour, 13.0) if day.weekday() == 6 else kind.close_hour


NIORT_CENTRE = CityScenario("niort-centre", SHOPS)
# rue Victor-Hugo's shops, a third of the crowd ("simulate --scenario niort-victor-hugo").
NIORT_VICTOR_HUGO = CityScenario(
    "niort-victor-hugo",
    tuple(s for s in SHOPS if STREETS[s.stretch].street == "rue Victor-Hugo"),
    scale=1 / 3,
)
#: Four shops of rue Victor-Hugo, one sensor each: ``wifivip-edge simulate --scenario niort-demo-slice``
#: (every sensor hears the shop's equipment all night: a batch every 5 minutes, ~260 a day).
NIORT_DEMO_SLICE = CityScenario(
    "niort-demo-slice",
    tuple(s for s in SHOPS if s.shop_id in ("vh-boulangerie", "vh-mode", "vh-librairie", "vh-pharmacie")),
    scale=1 / 3,
)
CITY_SCENARIOS: dict[str, CityScenario] = {s.name: s for s in (NIORT_CENTRE, NIORT_VICTOR_HUGO, NIORT_DEMO_SLICE)}
