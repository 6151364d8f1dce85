"""The OpenAPI 3.1 document of the portal API, built from the Chalice routes themselves.

Paths, methods and security come from ``app.routes`` (so a new route is documented, or at least
listed, the moment it exists); summaries from the view functions' docstrings; request bodies from the
pydantic models in :mod:`chalicelib.portal.schemas`; query parameters from :data:`QUERY`.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from pydantic import BaseModel

RANGE = [("from", "Premier jour AAAA-MM-JJ (heure de Paris) / first day"), ("to", "Dernier jour inclus / last day")]
CSV = [("format", "json (défaut) ou csv / json (default) or csv")]
QUERY: dict[str, list[tuple[str, str]]] = {
    "/api/kpis/{kind}/{scope_id}": [*RANGE, ("granularity", "hour | day | week | month"), *CSV],
    "/api/kpis/{kind}/{scope_id}/heatmap": [*RANGE, ("metric", "visitors (défaut) | passersby"), *CSV],
    "/api/shops/{shop_id}/today": [("day", "Jour AAAA-MM-JJ (défaut : aujourd'hui) / day"), *CSV],
    "/api/shops/{shop_id}/sensors": CSV,
    "/api/sensors/{sensor_id}/kpis": [("from", "AAAA-MM-JJ[THH] UTC"), ("to", "AAAA-MM-JJ[THH] UTC")],
    "/api/admin/centre": [*RANGE, *CSV],
    "/api/admin/adoption": [("from", "Mois AAAA-MM / month"), ("to", "Mois AAAA-MM / month"), *CSV],
    "/api/admin/report": RANGE,
}
for _path in ("merchants", "unions", "shops", "sensors", "users"):
    QUERY[f"/api/admin/{_path}"] = CSV

CREATED = {"201": {"description": "Créé / created"}}
AUTH_REFUSED = {
    "401": {"description": "Identifiants refusés / credentials refused"},
    "429": {"description": "Trop d'essais, voir Retry-After / too many attempts, see Retry-After"},
}
#: Answers a route gives besides 200 and 400 (and 401/403/404 behind the authorizer). Schemathesis
#: (tests/portal/test_schemathesis.py) fails on any status a route answers that is not listed here.
STATUSES: dict[tuple[str, str], dict[str, dict[str, str]]] = {
    ("/api/auth/signin", "POST"): AUTH_REFUSED,
    ("/api/auth/new-password", "POST"): AUTH_REFUSED,
    ("/api/auth/forgot", "POST"): {
        "202": {"description": "Envoyé si l'adresse existe / sent if known"},
        **AUTH_REFUSED,
    },
    ("/api/auth/reset", "POST"): AUTH_REFUSED,
    **{(f"/api/admin/{p}", "POST"): CREATED for p in ("merchants", "unions", "shops", "sensors", "users")},
}
UNSUPPORTED_MEDIA = {"415": {"description": "Corps attendu en application/json / JSON body expected"}}
NOT_FOUND = {"404": {"description": "Introuvable / not found"}}


def _summary(view: Any) -> str:
    doc = inspect.getdoc(view) or ""
    return doc.split("\n\n")[0].replace("\n", " ")


def document(app: Any, bodies: dict[tuple[str, str], type[BaseModel]]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, methods in sorted(app.routes.items()):
        item: dict[str, Any] = {}
        for method, entry in sorted(methods.items()):
            op: dict[str, Any] = {
                "operationId": entry.view_name,
                "summary": _summary(entry.view_function),
                "responses": {
                    "200": {"description": "OK"},
                    "400": {"description": "Requête invalide / bad request"},
                    "503": {"description": "Service momentanément indisponible, voir Retry-After / retry later"},
                },
            }
            params = [
                {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                for n in re.findall(r"{(\w+)}", path)
            ]
            params += [
                {"name": n, "in": "query", "required": False, "description": d, "schema": {"type": "string"}}
                for n, d in QUERY.get(path, [])
            ]
            if params:
                op["parameters"] = params
            if "{" in path:
                op["responses"].update(NOT_FOUND)
            op["responses"].update(STATUSES.get((path, method), {}))
            if entry.authorizer is not None:
                op["security"] = [{"cognitoIdToken": []}]
                op["responses"].update(
                    {
                        "401": {"description": "Jeton manquant / no token"},
                        "403": {"description": "Jeton invalide ou accès refusé / invalid token or forbidden"},
                        "404": {"description": "Introuvable ou non visible / not found or not visible"},
                    }
                )
            model = bodies.get((path, method))
            if model is not None:
                op["responses"].update(UNSUPPORTED_MEDIA)
                op["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": model.model_json_schema()}},
                }
            item[method.lower()] = op
        paths[path] = item
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "wifivip portal API",
            "version": "1.0.0",
            "description": "Fréquentation des commerces du centre-ville (Niort). Signez-vous via "
            "POST /api/auth/signin puis envoyez « Authorization: Bearer <id_token> ». / Sign in through "
            "POST /api/auth/signin, then send the ID token as a Bearer token.",
        },
        "components": {
            "securitySchemes": {"cognitoIdToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
        },
        "paths": paths,
    }
