"""Fitted model versions — a mixin of ``TenantBackend``."""

from __future__ import annotations

from collections.abc import Mapping

from engine.errors import NotFoundError
from service.ops._common import (
    _iso,
)


class ModelOps:
    # ---------------------------------------------------------------- models
    def model_versions(self) -> list[dict]:
        out = []
        for version, _created, _meta in self.ts.list_models():
            out.append(self.model_version(version))
        return out

    def model_version(self, version: int) -> dict:
        mv = self.ts.get_model(version)
        if mv is None:
            raise NotFoundError(f"model version {version} is not stored")
        return {"version": mv.version, "created_at": _iso(mv.created_at), "params": mv.params, "meta": mv.meta}

    def save_model(self, params: Mapping[str, Mapping[str, float]], meta: Mapping) -> int:
        mv = self.ts.put_model(params, meta)
        self._invalidate()
        return mv.version
