"""The tenancy rules: which shops and aggregates a caller may see, decided on the server per request.

- admin (CCI, city): everything.
- merchant: its own shops; the street and zone of its shops as a benchmark (aggregates only).
- operator: the shops of merchants who delegated to the operator (revocable: read from the merchant's
  record on every request), and their streets and zones as aggregates.
- union manager: its union's aggregate and its street/zone; one member's own figures only when that
  member shares them.

Aggregates shown to anyone but an admin must hold at least :data:`MIN_AGGREGATE_SHOPS` shops, so an
aggregate cannot be used to single out one neighbour. A shop the caller may not see is reported as
not found (its existence is not disclosed); an aggregate or an area the caller may not use is 403.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.portal.directory import Directory, MerchantInfo, ShopInfo, UnionInfo
from chalicelib.portal.errors import Forbidden, InvalidRequest, NotFound
from chalicelib.portal.tokens import Principal

MIN_AGGREGATE_SHOPS = 3
SCOPE_KINDS = ("shop", "street", "zone", "union", "city")
CITY_ID = "niort"


@dataclass(frozen=True)
class Scope:
    """A set of shops whose figures are read together, with the name the pages show."""

    kind: str
    id: str
    label: str
    shop_ids: tuple[str, ...]


def require_role(principal: Principal, *roles: str) -> None:
    if principal.role not in roles:
        raise Forbidden("accès réservé / access restricted")


def _merchants(directory: Directory) -> dict[str, MerchantInfo]:
    return {m.merchant_id: m for m in directory.merchants()}


def visible_shops(principal: Principal, directory: Directory) -> list[ShopInfo]:
    """The shops whose own figures the caller may see."""
    shops = directory.shops()
    if principal.role == "admin":
        return shops
    merchants = _merchants(directory)
    if principal.role == "merchant":
        return [s for s in shops if principal.merchant_id and s.merchant_id == principal.merchant_id]
    if principal.role == "operator":
        return [s for s in shops if (m := merchants.get(s.merchant_id)) and m.delegated_to_operator]
    if principal.role == "union":
        return [
            s
            for s in shops
            if (m := merchants.get(s.merchant_id))
            and principal.union_id
            and m.union_id == principal.union_id
            and m.shares_with_union
        ]
    return []


def shop_for(principal: Principal, directory: Directory, shop_id: str) -> ShopInfo:
    """The shop if the caller may see it; :class:`NotFound` otherwise (existence not disclosed)."""
    for shop in visible_shops(principal, directory):
        if shop.shop_id == shop_id:
            return shop
    raise NotFound(f"boutique inconnue / unknown shop: {shop_id}")


def own_union(principal: Principal, directory: Directory) -> UnionInfo | None:
    if principal.role != "union" or not principal.union_id:
        return None
    return next((u for u in directory.unions() if u.union_id == principal.union_id), None)


def allowed_areas(principal: Principal, directory: Directory) -> set[tuple[str, str]]:
    """The (street|zone, name) aggregates the caller may read, before the size rule."""
    shops = directory.shops()
    if principal.role == "admin":
        return {("street", s.street) for s in shops} | {("zone", s.zone) for s in shops}
    if principal.role == "union":
        union = own_union(principal, directory)
        if union is None:
            return set()
        areas = {("zone", union.zone)}
        if union.street:
            areas.add(("street", union.street))
        return areas
    mine = visible_shops(principal, directory)
    return {("street", s.street) for s in mine} | {("zone", s.zone) for s in mine}


def resolve_scope(principal: Principal, directory: Directory, kind: str, scope_id: str) -> Scope:
    """The shops behind ``kind``/``scope_id`` if the caller may read them together."""
    if kind not in SCOPE_KINDS:
        raise InvalidRequest(f"portée inconnue / unknown scope: {kind} ({', '.join(SCOPE_KINDS)})")
    if kind == "shop":
        shop = shop_for(principal, directory, scope_id)
        return Scope("shop", shop.shop_id, shop.name, (shop.shop_id,))
    shops = directory.shops()
    if kind == "city":
        require_role(principal, "admin")
        return Scope("city", CITY_ID, "Centre-ville de Niort", tuple(s.shop_id for s in shops))
    if kind == "union":
        union = next((u for u in directory.unions() if u.union_id == scope_id), None)
        if union is None or (principal.role != "admin" and principal.union_id != scope_id):
            raise NotFound(f"union inconnue / unknown union: {scope_id}")
        members = {m.merchant_id for m in directory.merchants() if m.union_id == scope_id}
        ids = tuple(s.shop_id for s in shops if s.merchant_id in members)
        return _sized(principal, Scope("union", scope_id, union.name, ids))
    if (kind, scope_id) not in allowed_areas(principal, directory):
        raise Forbidden(f"zone non autorisée / area not allowed: {scope_id}")
    ids = tuple(s.shop_id for s in shops if (s.street if kind == "street" else s.zone) == scope_id)
    if not ids:
        raise NotFound(f"zone inconnue / unknown area: {scope_id}")
    return _sized(principal, Scope(kind, scope_id, scope_id, ids))


def _sized(principal: Principal, scope: Scope) -> Scope:
    if principal.role != "admin" and len(scope.shop_ids) < MIN_AGGREGATE_SHOPS:
        raise Forbidden(
            f"agrégat trop petit ({len(scope.shop_ids)} boutiques, {MIN_AGGREGATE_SHOPS} au moins) / "
            f"aggregate too small to stay anonymous"
        )
    return scope


def benchmark_for(principal: Principal, directory: Directory, shop: ShopInfo) -> Scope | None:
    """The street of the shop as its benchmark, else its zone; None when neither may be shown."""
    for kind, name in (("street", shop.street), ("zone", shop.zone)):
        try:
            return resolve_scope(principal, directory, kind, name)
        except (Forbidden, NotFound):
            continue
    return None


def visible_sensor_ids(principal: Principal, directory: Directory) -> set[str]:
    """Sensors whose raw figures the caller may read: an admin all, others those of their visible shops."""
    if principal.role == "admin":
        return {s.sensor_id for s in directory.sensors()}
    return set(sensors_of(directory, [s.shop_id for s in visible_shops(principal, directory)]))


def sensors_of(directory: Directory, shop_ids: tuple[str, ...] | list[str]) -> list[str]:
    wanted = set(shop_ids)
    return [s.sensor_id for s in directory.sensors() if s.shop_id in wanted]
