"""Scenarios: where the shops, the street and the sensors are, and how many people come when.

Coordinates are metres: the street runs along x, shop fronts stand at y = 0, shops are rooms at
y > 0 and the pavement is at y < 0. Opening hours and arrival curves are in local time (Europe/Paris).
"""

from __future__ import annotations

from dataclasses import dataclass, field

TIMEZONE = "Europe/Paris"


@dataclass(frozen=True)
class SensorSpec:
    sensor_id: str
    x: float
    y: float
    channel: int = 6


@dataclass(frozen=True)
class ShopSpec:
    shop_id: str
    name: str
    street: str
    zone: str
    x_min: float
    x_max: float
    depth: float
    sensors: tuple[SensorSpec, ...]
    visit_share: float  # share of street arrivals who enter this shop
    staff: int = 2
    fixed_devices: int = 1

    @property
    def door_x(self) -> float:
        return (self.x_min + self.x_max) / 2


@dataclass(frozen=True)
class Scenario:
    name: str
    street_length: float
    shops: tuple[ShopSpec, ...]
    open_hour: int = 9
    close_hour: int = 19
    # People arriving in the street per local hour of the opening day (index = hour of day).
    arrivals_per_hour: dict[int, int] = field(default_factory=dict)
    phone_share: float = 0.92  # share of people carrying a phone that probes
    # Share of a shop's visitors who come back to it later the same day (0: nobody, the default,
    # which leaves every earlier (scenario, date, seed) simulation byte for byte as it was).
    revisit_share: float = 0.0

    @property
    def sensors(self) -> tuple[SensorSpec, ...]:
        return tuple(s for shop in self.shops for s in shop.sensors)


def _shop(shop_id: str, name: str, x: float, share: float, street: str = "rue Victor-Hugo") -> ShopSpec:
    return ShopSpec(
        shop_id=shop_id,
        name=name,
        street=street,
        zone="centre",
        x_min=x - 5,
        x_max=x + 5,
        depth=10.0,
        sensors=(SensorSpec(f"{shop_id}-s1", x, 4.0, channel=(1, 6, 11)[int(x) % 3]),),
        visit_share=share,
    )


NIORT_DEMO = Scenario(
    name="niort-demo",
    street_length=160.0,
    shops=(
        _shop("vh-boulangerie", "Boulangerie Victor-Hugo", 25.0, 0.10),
        _shop("vh-librairie", "Librairie des Halles", 55.0, 0.05),
        _shop("vh-mode", "Mode & Co", 95.0, 0.06),
        _shop("vh-optique", "Optique Brèche", 130.0, 0.03),
    ),
    arrivals_per_hour={9: 60, 10: 110, 11: 160, 12: 190, 13: 150, 14: 140, 15: 170, 16: 200, 17: 210, 18: 150},
)

SCENARIOS: dict[str, Scenario] = {NIORT_DEMO.name: NIORT_DEMO}
