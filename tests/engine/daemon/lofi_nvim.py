"""lofi.nvim's Lua client (lua/lofi/rpc.lua and init.lua at commit 3dd58b5), as far as the daemon can tell.

Requests are written exactly as ``vim.json.encode`` writes them (an empty Lua table is ``[]``, nil
fields are absent, ``/`` is escaped), and replies are read with the client's rules: a message with an
``id`` is a response and runs that request's callback, which for ``generate`` registers the track's
completion callback; a notification for a track whose callback is not registered yet is lost to it.
"""

from __future__ import annotations

import json


def lua_line(request: dict) -> str:
    """One request line as ``vim.json.encode(request) .. "\\n"`` produces it."""

    def encode(value):
        if isinstance(value, dict):
            kept = {k: encode(v) for k, v in value.items() if v is not None}  # nil fields vanish
            return kept or []  # an empty Lua table encodes as an array
        return value

    return json.dumps(encode(request), ensure_ascii=False, separators=(",", ":")).replace("/", "\\/") + "\n"


class PluginClient:
    """lofi.nvim's reply handling: callbacks by request id, then by track id for generate."""

    def __init__(self) -> None:
        self.next_id = 0
        self.pending: dict[int, object] = {}
        self.track_callbacks: dict[str, object] = {}
        self.completed: list[dict] = []  # what completion callbacks received
        self.errors: list[dict] = []
        self.results: dict[int, dict] = {}  # responses by request id
        self.notifications: list[dict] = []

    def request(self, method: str, params: dict | None, callback) -> str:
        self.next_id += 1
        self.pending[self.next_id] = callback
        return lua_line({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params or {}})

    def generate(self, **opts) -> str:
        """init.lua's M.generate: the params table it builds, nil fields included (and so dropped)."""

        def on_response(error, result):
            if error is None:
                self.track_callbacks[result["track_id"]] = lambda err, res: (self.errors if err else
                                                                             self.completed).append(err or res)
            else:
                self.errors.append(error)

        params = {"prompt": opts["prompt"], "duration_sec": opts.get("duration_sec", 30), "seed": opts.get("seed"),
                  "priority": opts.get("priority", "normal"), "backend": opts.get("backend"),
                  "inference_steps": opts.get("inference_steps"), "scheduler": opts.get("scheduler"),
                  "guidance_scale": opts.get("guidance_scale")}
        return self.request("generate", params, on_response)

    def receive(self, line: str) -> None:
        msg = json.loads(line)
        if "id" in msg:  # Lua: msg.id ~= nil (a JSON null is vim.NIL, which is not nil either)
            assert ("error" in msg) != ("result" in msg), msg  # an "error": null would read as an error
            self.results[msg["id"]] = msg
            callback = self.pending.pop(msg["id"], None)
            if callback is not None:
                callback(msg.get("error"), msg.get("result"))
            return
        self.notifications.append(msg)
        params = msg["params"]
        if msg["method"] in ("generation_complete", "generation_error"):
            callback = self.track_callbacks.pop(params["track_id"], None)
            if callback is not None and msg["method"] == "generation_complete":
                callback(None, params)
            elif callback is not None:
                callback({"code": params["code"], "message": params["message"]}, None)
