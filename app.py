"""The wifivip portal (Chalice): this file only wires routes; the logic lives in chalicelib/."""

from __future__ import annotations

from typing import Any

from chalice import BadRequestError, Chalice, NotFoundError, Response

from chalicelib.portal import kpi_queries
from chalicelib.portal.errors import InvalidRequest, NotFound
from chalicelib.portal.static import static_file

app = Chalice(app_name="wifivip-portal")


def _query(name: str) -> str | None:
    params = app.current_request.query_params or {}
    return params.get(name)


@app.route("/")
def index() -> Response:
    return static_file("index.html")


@app.route("/static/{name}")
def static(name: str) -> Response:
    return static_file(name)


@app.route("/api/sensors")
def sensors() -> dict[str, Any]:
    return {"sensors": kpi_queries.list_sensors()}


@app.route("/api/sensors/{sensor_id}/kpis")
def sensor_kpis(sensor_id: str) -> dict[str, Any]:
    try:
        return kpi_queries.sensor_hours(sensor_id, _query("from"), _query("to"))
    except InvalidRequest as exc:
        raise BadRequestError(str(exc)) from None
    except NotFound as exc:
        raise NotFoundError(str(exc)) from None
