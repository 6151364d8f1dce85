"""``wifivip-edge status``: what the agent last reported about itself, read from its state directory.

The running agent writes its heartbeat to ``<state_dir>/status.json`` before sending it; this reads
that file and the spool directory, so it works offline and without root.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from wifivip_edge.config import AgentConfig
from wifivip_edge.heartbeat import HeartbeatError, decode_heartbeat
from wifivip_edge.spool import SUFFIX


def agent_status(config: AgentConfig, now: float | None = None) -> dict[str, Any]:
    """The last heartbeat (if any), whether it is fresh (the agent runs), and the spool as on disk."""
    now = time.time() if now is None else now
    spool_files = sorted(Path(config.spool_dir).glob("*" + SUFFIX)) if Path(config.spool_dir).is_dir() else []
    state: dict[str, Any] = {
        "sensor_id": config.sensor_id,
        "running": False,
        "heartbeat": None,
        "heartbeat_age_s": None,
        "spool_files": len(spool_files),
        "spool_bytes": sum(p.stat().st_size for p in spool_files),
        "problem": None,
    }
    try:
        hb = decode_heartbeat(config.status_file.read_bytes())
    except FileNotFoundError:
        state["problem"] = "no status file: the agent has not run here / l'agent n'a jamais tourné ici"
        return state
    except HeartbeatError as exc:
        state["problem"] = f"status file unreadable / fichier d'état illisible: {exc}"
        return state
    age = now - hb.sent_at
    state["heartbeat"] = {k: getattr(hb, k) for k in hb.__dataclass_fields__}
    state["heartbeat_age_s"] = round(age, 1)
    state["running"] = age <= 2 * config.heartbeat.interval_s + 30
    if not state["running"]:
        state["problem"] = "last heartbeat too old: agent stopped? / dernier signe de vie trop ancien"
    return state


def format_status(state: dict[str, Any]) -> str:
    """Human-readable status, French first."""
    hb = state["heartbeat"]
    lines = [
        f"capteur / sensor        {state['sensor_id']}",
        f"en marche / running     {'oui / yes' if state['running'] else 'non / no'}",
    ]
    if hb:
        losses = ", ".join(f"{k}={v}" for k, v in hb["losses"].items()) or "aucune / none"
        lines += [
            f"état / status           {', '.join(hb['status'])}",
            f"dernier signe / last    il y a / {state['heartbeat_age_s']:.0f} s ago",
            f"version                 {hb['agent_version']}  (uptime {hb['uptime_s'] / 3600:.1f} h)",
            f"trames/s / frames/s     {hb['frames_per_s']:.2f}  (total {hb['frames_total']})",
            f"clé du jour / day key   {hb['key_epoch'] or 'AUCUNE / NONE'}",
            f"pertes / losses         {losses}",
            f"horloge / clock offset  {hb['clock_offset_s'] if hb['clock_offset_s'] is not None else '?'} s",
        ]
    lines.append(f"spool                   {state['spool_files']} lots / batches, {state['spool_bytes']} B")
    if state["problem"]:
        lines.append(f"problème / problem      {state['problem']}")
    return "\n".join(lines)
