#!/usr/bin/env python3
"""Plays `helm lint` + `helm template` + `kubeconform` for charts/jifen and k8s/ without a cluster.

Run from the repository root inside the chart venv (scripts/chart-check.sh sets it up):

    python scripts/chart/render.py [JIFEN_BIN]

What it does, failing (exit 1) on any problem:
  1. lints the chart strictly (helm_python.lint, strict=True, kube 1.30.0) with every values set;
  2. renders it (Chart.render, is_install=True) with the default, ci/monolithic and ci/microservices
     values, writes each render to target/chart-rendered/<name>.yaml and validates every manifest
     strictly against the Kubernetes 1.30.0 schemas (kubernetes-validate);
     monitoring.coreos.com objects (ServiceMonitor, PrometheusRule) have no bundled schema: they get
     a structural check instead (see check_monitoring_crd);
  3. checks chart invariants (non-root, read-only root fs, probes on declared ports, selectors
     that match, checksum annotations);
  4. confirms every file in scripts/chart/bad-values/ fails the values schema and prints why;
  5. builds every kustomize overlay (kubectl kustomize k8s/overlays/<name>) and validates it the
     same way;
  6. with a jifen binary (JIFEN_BIN env or argv[1]): runs every rendered container's args with
     --dry-run and checks the exit code, the ports and the probe service names/paths it prints.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import traceback

import helm_python as helm
import kubernetes_validate.utils as kv
import yaml

ROOT = pathlib.Path.cwd()
CHART = ROOT / "charts" / "jifen"
OUT = ROOT / "target" / "chart-rendered"
BAD_VALUES = ROOT / "scripts" / "chart" / "bad-values"
OVERLAYS = ROOT / "k8s" / "overlays"
KUBE_VERSION = "1.30.0"
RELEASE = "jifen"
NAMESPACE = "jifen"

VALUE_SETS: dict[str, pathlib.Path | None] = {
    "default": None,
    "monolithic": CHART / "ci" / "monolithic-values.yaml",
    "microservices": CHART / "ci" / "microservices-values.yaml",
}

# Kinds without a bundled schema: checked structurally (apiVersion/kind/metadata/spec shape).
MONITORING_KINDS = {"ServiceMonitor", "PrometheusRule"}

# Stand-ins for values that reach pods from Secrets, used only by the --dry-run args check.
# Keys whose format the binary may validate (JWT/PII keys) are left unset on purpose.
DRY_RUN_SECRET_ENV = {
    "JIFEN__DATABASE__URL": "postgres://jifen:dry-run@127.0.0.1:5432/jifen",
    "JIFEN__REDIS__URL": "redis://127.0.0.1:6379",
    "JIFEN__S3__ACCESS_KEY_ID": "dry-run",
    "JIFEN__S3__SECRET_ACCESS_KEY": "dry-run",
    "JIFEN__AUTH__SEED_ADMIN_PASSWORD": "dry-run-password",
    "JIFEN__AUTH__SERVICE_SECRET": "dry-run-service-secret-0123456789abcdef",
}

failures: list[str] = []
summary: list[str] = []


def fail(msg: str) -> None:
    failures.append(msg)
    print(f"  FAIL {msg}")


def ok(msg: str) -> None:
    print(f"  ok   {msg}")


def load_values(path: pathlib.Path | None) -> dict:
    if path is None:
        return {}
    with open(path) as f:
        return yaml.safe_load(f) or {}


def kname(doc: dict) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def split_docs(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d]


# ---------------------------------------------------------------- validation


def check_monitoring_crd(doc: dict) -> list[str]:
    """Structural check for Prometheus Operator objects (no bundled schema)."""
    errs = []
    if doc.get("apiVersion") != "monitoring.coreos.com/v1":
        errs.append("apiVersion must be monitoring.coreos.com/v1")
    meta = doc.get("metadata") or {}
    if not meta.get("name"):
        errs.append("metadata.name missing")
    spec = doc.get("spec") or {}
    if doc["kind"] == "ServiceMonitor":
        if set(spec) - {"selector", "namespaceSelector", "endpoints", "jobLabel"}:
            errs.append(f"unexpected spec keys {sorted(set(spec) - {'selector', 'namespaceSelector', 'endpoints', 'jobLabel'})}")
        if not spec.get("selector", {}).get("matchLabels"):
            errs.append("spec.selector.matchLabels missing")
        for ep in spec.get("endpoints") or [{}]:
            if not ep.get("port") or not str(ep.get("path", "")).startswith("/"):
                errs.append("each endpoint needs a port name and a path")
    else:
        groups = spec.get("groups")
        if not groups:
            errs.append("spec.groups missing")
        for g in groups or []:
            for r in g.get("rules", []):
                if not r.get("alert") or not r.get("expr"):
                    errs.append(f"rule without alert/expr in group {g.get('name')}")
                if set(r) - {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}:
                    errs.append(f"rule {r.get('alert')}: unexpected keys")
                if r.get("expr", "").count("(") != r.get("expr", "").count(")"):
                    errs.append(f"rule {r.get('alert')}: unbalanced parentheses in expr")
    return errs


def validate_docs(label: str, docs: list[dict]) -> None:
    counts: dict[str, int] = {}
    names = set()
    for doc in docs:
        key = (doc.get("kind"), doc.get("metadata", {}).get("name"))
        if key in names:
            fail(f"{label}: duplicate object {kname(doc)}")
        names.add(key)
        counts[doc.get("kind", "?")] = counts.get(doc.get("kind", "?"), 0) + 1
        if doc.get("kind") in MONITORING_KINDS:
            for e in check_monitoring_crd(doc):
                fail(f"{label}: {kname(doc)} (structural): {e}")
            continue
        try:
            kv.validate(doc, KUBE_VERSION, strict=True)
        except kv.ValidationError as e:
            path = ".".join(str(p) for p in e.path)
            fail(f"{label}: {kname(doc)}: {path}: {e.message}")
        except kv.SchemaNotFoundError as e:
            fail(f"{label}: {kname(doc)}: {e.message}")
    kinds = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    ok(f"{label}: {len(docs)} objects valid against k8s {KUBE_VERSION} (strict): {kinds}")


# ---------------------------------------------------------------- invariants


def pod_templates(docs: list[dict]):
    for doc in docs:
        if doc.get("kind") in ("Deployment", "StatefulSet", "Job"):
            yield doc, doc["spec"]["template"]


def check_invariants(label: str, docs: list[dict], jifen_only: bool) -> None:
    """Security and wiring rules every jifen workload must keep."""
    errors_before = len(failures)
    by_kind: dict[str, list[dict]] = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    pod_label_sets = []
    for doc, tpl in pod_templates(docs):
        labels = tpl["metadata"].get("labels", {})
        pod_label_sets.append((doc.get("metadata", {}).get("namespace"), labels))
        is_jifen = labels.get("app.kubernetes.io/part-of") == "jifen"
        if jifen_only or is_jifen:
            spec = tpl["spec"]
            psc = spec.get("securityContext", {})
            if not psc.get("runAsNonRoot") or psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
                fail(f"{label}: {kname(doc)}: pod must runAsNonRoot with seccomp RuntimeDefault")
            for c in spec.get("containers", []) + spec.get("initContainers", []):
                sc = c.get("securityContext", {})
                if not sc.get("readOnlyRootFilesystem") or sc.get("allowPrivilegeEscalation") is not False \
                        or "ALL" not in sc.get("capabilities", {}).get("drop", []):
                    fail(f"{label}: {kname(doc)}/{c['name']}: needs readOnlyRootFilesystem, no privilege escalation, drop ALL")
                if not any(m.get("mountPath") == "/tmp" for m in c.get("volumeMounts", [])):
                    fail(f"{label}: {kname(doc)}/{c['name']}: no writable /tmp mount")
            if doc["kind"] == "Deployment":
                c = spec["containers"][0]
                ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
                for probe_kind in ("startupProbe", "livenessProbe", "readinessProbe"):
                    probe = c.get(probe_kind)
                    if not probe:
                        fail(f"{label}: {kname(doc)}: missing {probe_kind}")
                        continue
                    if "grpc" in probe and probe["grpc"]["port"] not in ports.values():
                        fail(f"{label}: {kname(doc)}: {probe_kind} grpc port {probe['grpc']['port']} is not a container port")
                    if "httpGet" in probe and probe["httpGet"]["port"] not in ports and probe["httpGet"]["port"] not in ports.values():
                        fail(f"{label}: {kname(doc)}: {probe_kind} http port {probe['httpGet']['port']} is not a container port")
                # kustomize rolls pods through configMapGenerator's hash suffix instead.
                if jifen_only and "checksum/config" not in tpl["metadata"].get("annotations", {}):
                    fail(f"{label}: {kname(doc)}: missing checksum/config pod annotation")

    def matches(selector: dict, ns) -> bool:
        return any(all(lbls.get(k) == v for k, v in selector.items()) and (ns is None or pns in (None, ns))
                   for pns, lbls in pod_label_sets)

    for svc in by_kind.get("Service", []):
        sel = svc["spec"].get("selector")
        if sel and not matches(sel, svc["metadata"].get("namespace")):
            fail(f"{label}: {kname(svc)}: selector {sel} matches no pod template")
    for pdb in by_kind.get("PodDisruptionBudget", []):
        if pdb["spec"].get("maxUnavailable") != 1:
            fail(f"{label}: {kname(pdb)}: maxUnavailable must be 1")
        if not matches(pdb["spec"]["selector"]["matchLabels"], pdb["metadata"].get("namespace")):
            fail(f"{label}: {kname(pdb)}: selector matches no pod template")
    deployments = {d["metadata"]["name"] for d in by_kind.get("Deployment", [])}
    for hpa in by_kind.get("HorizontalPodAutoscaler", []):
        target = hpa["spec"]["scaleTargetRef"]["name"]
        if target not in deployments:
            fail(f"{label}: {kname(hpa)}: scaleTargetRef {target} is not a rendered Deployment")
        dep = next((d for d in by_kind["Deployment"] if d["metadata"]["name"] == target), None)
        if dep and "replicas" in dep["spec"]:
            fail(f"{label}: {kname(hpa)}: Deployment {target} sets replicas although an HPA owns it")
    for svc in by_kind.get("Service", []):
        for p in svc["spec"]["ports"]:
            if p["name"] == "grpc" and p.get("appProtocol") != "grpc":
                fail(f"{label}: {kname(svc)}: grpc port without appProtocol grpc")
    if len(failures) == errors_before:
        ok(f"{label}: invariants hold (security contexts, probes, selectors, HPA targets, PDBs)")


# ---------------------------------------------------------------- the chart


def lint_and_render(chart: helm.Chart) -> dict[str, list[dict]]:
    rendered: dict[str, list[dict]] = {}
    for name, path in VALUE_SETS.items():
        print(f"chart values '{name}'{' (' + str(path.relative_to(ROOT)) + ')' if path else ''}:")
        values = load_values(path)
        report = helm.lint(str(CHART), values, strict=True, namespace=NAMESPACE, kube_version=f"v{KUBE_VERSION}")
        msgs = [m for m in report.get("messages", []) if m.get("severity", 0) >= 2]
        infos = [m for m in report.get("messages", []) if m.get("severity", 0) < 2]
        for m in msgs:
            fail(f"lint[{name}]: {m.get('path')}: {m.get('error')}")
        for e in report.get("errors", []) or []:
            fail(f"lint[{name}]: {e}")
        if not msgs and not report.get("errors"):
            ok(f"helm lint --strict ({len(infos)} info message(s))")
            for m in infos:
                print(f"       info: {m.get('path')}: {m.get('error')}")
        try:
            chart.validate_schema(values)
            ok("values.schema.json accepts the values")
        except helm.HelmError as e:
            fail(f"schema[{name}]: {e}")
            continue
        try:
            manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
        except helm.HelmError as e:
            fail(f"render[{name}]: {e}")
            continue
        docs: list[dict] = []
        text_parts = []
        for tpl in sorted(manifests):
            body = manifests[tpl]
            if tpl.endswith("NOTES.txt"):
                if not body.strip():
                    fail(f"render[{name}]: NOTES.txt is empty")
                continue
            if not body.strip():
                continue
            text_parts.append(f"---\n# Source: {tpl}\n{body.strip()}\n")
            try:
                docs.extend(split_docs(body))
            except yaml.YAMLError as e:
                fail(f"render[{name}]: {tpl}: not YAML: {e}")
        out = OUT / f"chart-{name}.yaml"
        out.write_text("".join(text_parts))
        ok(f"rendered {len(docs)} objects -> {out.relative_to(ROOT)}")
        validate_docs(f"chart[{name}]", docs)
        check_invariants(f"chart[{name}]", docs, jifen_only=True)
        rendered[name] = docs
    return rendered


def check_bad_values(chart: helm.Chart) -> None:
    print("bad values files (must be rejected by values.schema.json):")
    files = sorted(BAD_VALUES.glob("*.yaml"))
    if not files:
        fail("no bad values files found")
    for f in files:
        try:
            chart.validate_schema(load_values(f))
        except helm.HelmError as e:
            ok(f"{f.relative_to(ROOT)} rejected:")
            for line in str(e).splitlines():
                print(f"         {line}")
            continue
        fail(f"{f.relative_to(ROOT)} was accepted by the schema")


# ---------------------------------------------------------------- kustomize


def check_overlays() -> dict[str, list[dict]]:
    built: dict[str, list[dict]] = {}
    kubectl = shutil.which("kubectl")
    overlays = sorted(p for p in OVERLAYS.iterdir() if (p / "kustomization.yaml").exists())
    if not overlays:
        fail("no kustomize overlays under k8s/overlays")
    for overlay in overlays:
        print(f"kustomize overlay {overlay.relative_to(ROOT)}:")
        if not kubectl:
            fail("kubectl not found (needed for kubectl kustomize)")
            return built
        proc = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True)
        if proc.returncode != 0:
            fail(f"kubectl kustomize {overlay.name}: {proc.stderr.strip()}")
            continue
        out = OUT / f"kustomize-{overlay.name}.yaml"
        out.write_text(proc.stdout)
        docs = split_docs(proc.stdout)
        ok(f"built {len(docs)} objects -> {out.relative_to(ROOT)}")
        validate_docs(f"k8s[{overlay.name}]", docs)
        check_invariants(f"k8s[{overlay.name}]", docs, jifen_only=False)
        for d in docs:
            if d["kind"] != "Namespace" and d.get("metadata", {}).get("namespace") != "jifen":
                fail(f"k8s[{overlay.name}]: {kname(d)} is not in namespace jifen")
        built[overlay.name] = docs
    return built


# ---------------------------------------------------------------- the binary


def config_for(doc: dict, pod: dict, container: dict, docs: list[dict]) -> str | None:
    """The jifen.toml a container would see: the data of the ConfigMap mounted at /etc/jifen/jifen.toml."""
    mount = next((m for m in container.get("volumeMounts", []) if m["mountPath"] == "/etc/jifen/jifen.toml"), None)
    if not mount:
        return None
    vol = next(v for v in pod["spec"]["volumes"] if v["name"] == mount["name"])
    cm_name = vol["configMap"]["name"]
    cm = next((d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == cm_name), None)
    if cm is None:
        return None
    return cm["data"][mount.get("subPath", "jifen.toml")]


def check_binary(jifen_bin: str, label: str, docs: list[dict]) -> None:
    print(f"jifen args check [{label}] with {jifen_bin}:")
    before = len(failures)
    checked = 0
    for doc, pod in pod_templates(docs):
        spec = pod["spec"]
        for container in spec.get("initContainers", []) + spec.get("containers", []):
            image = container.get("image", "")
            if not ("jifen" in image.split("/")[-1].split(":")[0] or container.get("command") is None
                    and container["name"] in ("jifen", "migrate", "seed")):
                continue  # a store (postgres, redis, minio) in the dev overlay
            args = list(container.get("args", []))
            where = f"{label}: {kname(doc)}/{container['name']}"
            tmp = tempfile.mkdtemp(prefix="jifen-dry-run-")
            try:
                toml = config_for(doc, pod, container, docs)
                real_args = []
                for i, a in enumerate(args):
                    if i > 0 and args[i - 1] == "--config":
                        if toml is None:
                            fail(f"{where}: --config {a} is not backed by a mounted ConfigMap")
                            real_args.append(a)
                        else:
                            cfg = pathlib.Path(tmp) / "jifen.toml"
                            cfg.write_text(toml)
                            real_args.append(str(cfg))
                    elif i > 0 and args[i - 1] == "--data-dir":
                        real_args.append(str(pathlib.Path(tmp) / "data"))
                    else:
                        real_args.append(a)
                env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp, "TMPDIR": tmp}
                for e in container.get("env", []):
                    if "value" in e:
                        env[e["name"]] = e["value"]
                    elif e["name"] in DRY_RUN_SECRET_ENV:
                        env[e["name"]] = DRY_RUN_SECRET_ENV[e["name"]]
                sub = real_args[0] if real_args else ""
                if sub not in ("run", "migrate"):
                    # Only run and migrate promise --dry-run; prove the subcommand and its flags exist.
                    cmd = [jifen_bin, *real_args, "--help"]
                    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
                    if proc.returncode != 0:
                        fail(f"{where}: `jifen {' '.join(args)} --help` exited {proc.returncode}: {proc.stderr.strip()[:300]}")
                    else:
                        checked += 1
                    continue
                cmd = [jifen_bin, *real_args, "--dry-run"]
                proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
                if proc.returncode != 0:
                    fail(f"{where}: `jifen {' '.join(args)} --dry-run` exited {proc.returncode}: {proc.stderr.strip()[:300]}")
                    continue
                try:
                    printed = json.loads(proc.stdout)
                except json.JSONDecodeError:
                    fail(f"{where}: --dry-run did not print one JSON object: {proc.stdout[:200]!r}")
                    continue
                checked += 1
                if printed.get("command") != sub:
                    fail(f"{where}: dry-run says command {printed.get('command')!r}, expected {sub!r}")
                if sub != "run":
                    continue
                grpc_port = int(str(printed.get("grpc_addr", ":0")).rsplit(":", 1)[1])
                http_port = int(str(printed.get("http_addr", ":0")).rsplit(":", 1)[1])
                ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
                if ports.get("grpc") != grpc_port:
                    fail(f"{where}: containerPort grpc={ports.get('grpc')} but the binary listens on gRPC {grpc_port}")
                if ports.get("http") != http_port:
                    fail(f"{where}: containerPort http={ports.get('http')} but the binary listens on HTTP {http_port}")
                services = set(printed.get("grpc_services") or [])
                paths = set(printed.get("http_paths") or [])
                for probe_kind in ("startupProbe", "livenessProbe", "readinessProbe"):
                    probe = container.get(probe_kind) or {}
                    if "grpc" in probe:
                        svc = probe["grpc"].get("service", "")
                        if svc and svc not in services:
                            fail(f"{where}: {probe_kind} checks gRPC service {svc!r}, binary serves {sorted(services)}")
                        if probe["grpc"]["port"] != grpc_port:
                            fail(f"{where}: {probe_kind} gRPC port {probe['grpc']['port']} != {grpc_port}")
                    if "httpGet" in probe:
                        path = probe["httpGet"]["path"]
                        if path not in paths:
                            fail(f"{where}: {probe_kind} path {path!r} not in {sorted(paths)}")
                        port = probe["httpGet"]["port"]
                        if ports.get(port, port) != http_port:
                            fail(f"{where}: {probe_kind} HTTP port {port} != {http_port}")
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    if len(failures) == before:
        ok(f"{checked} container command line(s) accepted by the binary; ports and probes match what it serves")


# ---------------------------------------------------------------- main


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    jifen_bin = os.environ.get("JIFEN_BIN") or (sys.argv[1] if len(sys.argv) > 1 else "")
    helm.disable_logging() if hasattr(helm, "disable_logging") else None
    print(f"helm SDK {helm.helm_sdk_version()} (helm-python {helm.__version__}); kubernetes schemas {KUBE_VERSION}")
    try:
        chart = helm.Chart.load(str(CHART))
    except helm.HelmError as e:
        print(f"FAIL cannot load {CHART}: {e}")
        return 1
    with chart:
        rendered = lint_and_render(chart)
        check_bad_values(chart)
    built = check_overlays()
    if jifen_bin:
        if not os.access(jifen_bin, os.X_OK):
            fail(f"JIFEN_BIN {jifen_bin} is not an executable file")
        else:
            for name, docs in {**{f"chart-{k}": v for k, v in rendered.items()},
                               **{f"k8s-{k}": v for k, v in built.items()}}.items():
                check_binary(jifen_bin, name, docs)
    else:
        print("SKIPPED jifen args check: no binary given (set JIFEN_BIN or pass a path, e.g. target/debug/jifen)")
    print()
    print(f"chart check: {len(rendered)} chart render(s), {len(built)} kustomize overlay(s), "
          f"args check {'ran' if jifen_bin else 'skipped'}; {len(failures)} failure(s)")
    for f in failures:
        print(f"  - {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:  # noqa: BLE001 - a crash is a failed check, with its trace
        traceback.print_exc()
        sys.exit(1)
