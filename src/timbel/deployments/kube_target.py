"""Direct deployment to a cluster: render the system chart from the GitOps working clone and apply it."""

from __future__ import annotations

import logging
from typing import Any

import helm_python as helm
import yaml

from timbel.deployments.live import LiveStatus
from timbel.deployments.models import TargetKind
from timbel.deployments.target_base import Observation, TargetContext, TargetError, adapter_for, service_key
from timbel.integrations.kubernetes.adapter import KubernetesAdapter

logger = logging.getLogger(__name__)


class KubernetesTarget:
    """A cluster: render the system chart with the environment's values and server-side apply it."""

    kind = TargetKind.kubernetes.value

    def apply(self, ctx: TargetContext) -> None:
        """Render from the GitOps working clone and apply into the environment's namespace."""
        manifests = render(ctx)
        adapter: KubernetesAdapter = adapter_for(ctx, "Kubernetes")
        try:
            applied = adapter.apply(manifests, namespace=ctx.namespace)
        finally:
            adapter.close()
        logger.info("applied %d objects of %s into %s", len(applied), ctx.system, ctx.namespace)

    def observe(self, ctx: TargetContext) -> Observation:
        """Deployments of the namespace: rolled out (Healthy), rolling (Progressing), stuck (Degraded)."""
        live = self.status(ctx)
        if live.health == "Degraded":
            return Observation(live, failure=f"a Deployment is stuck: {live.detail}")
        return Observation(live)

    def status(self, ctx: TargetContext) -> LiveStatus:
        """Health from the namespace's Deployments; images by service (Deployment ``<system>-<service>``)."""
        adapter: KubernetesAdapter = adapter_for(ctx, "Kubernetes")
        try:
            workloads = adapter.deployments(ctx.namespace)
        finally:
            adapter.close()
        if not workloads:
            return LiveStatus(self.kind, "Missing", detail=f"no Deployments in {ctx.namespace}")
        images = {service_key(w.name, system=ctx.system): w.image for w in workloads if w.image}
        for w in workloads:
            for condition in w.conditions:
                if condition.get("reason") == "ProgressDeadlineExceeded":
                    return LiveStatus(
                        self.kind, "Degraded", images=images, detail=f"{w.name}: progress deadline"
                    )
        waiting = [w.name for w in workloads if min(w.ready, w.updated, w.available) < w.replicas]
        if waiting:
            return LiveStatus(
                self.kind, "Progressing", images=images, detail="rolling: " + ", ".join(waiting)
            )
        return LiveStatus(self.kind, "Healthy", images=images)


def render(ctx: TargetContext) -> list[dict[str, Any]]:
    """The chart of the working clone rendered with the environment's values (Helm's own engine)."""
    if ctx.workdir is None:
        raise TargetError("no GitOps working clone to render the chart from")
    chart_dir, values_file = ctx.workdir / ctx.chart_path, ctx.workdir / ctx.values_path
    if not (chart_dir / "Chart.yaml").is_file() or not values_file.is_file():
        raise TargetError(f"the GitOps repository has no chart or values at {ctx.chart_path}")
    try:
        values = helm.values_from_yaml(values_file.read_text(encoding="utf-8"))
        with helm.Chart.load(chart_dir) as chart:
            rendered = chart.render(values, name=ctx.system, namespace=ctx.namespace)
    except helm.HelmError as exc:
        raise TargetError(f"Helm cannot render the {ctx.system} chart: {exc.detail}") from exc
    manifests: list[dict[str, Any]] = []
    for name in sorted(rendered):
        if name.endswith("NOTES.txt"):
            continue
        manifests += [d for d in yaml.safe_load_all(rendered[name]) if isinstance(d, dict)]
    return manifests
