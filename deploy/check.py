#!/usr/bin/env python
"""Checks the rendered Kubernetes manifests against cachefront's own config.

kubernetes-validate says each object is well-formed; this says they fit
together: every Deployment's mounted cachefront.toml passes `cachefront
check`, the probes hit /readyz and /healthz on the admin port the config
listens on, the grace period outlasts preStop plus drain_delay + drain_timeout,
the container runs non-root on a read-only root filesystem, and an HTTP
origin URL names a Service in the same render that selects a Deployment's
pods (the two-tier edge -> shield link).

    python deploy/check.py --bin target/debug/cachefront rendered.yaml...
"""

import argparse
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import yaml

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(duration):
    return int(duration[:-1]) * UNITS[duration[-1]]


def port_of(addr):
    return int(addr.rsplit(":", 1)[1])


def check_render(path, binary):
    docs = [d for d in yaml.safe_load_all(Path(path).read_text()) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    errors = []
    deployments = by_kind.get("Deployment", {})
    services = by_kind.get("Service", {})
    for name, dep in deployments.items():
        spec = dep["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        where = f"{path}: Deployment {name}"
        volume = next(v for v in spec["volumes"] if "configMap" in v)
        toml_text = by_kind["ConfigMap"][volume["configMap"]["name"]]["data"]["cachefront.toml"]
        with tempfile.NamedTemporaryFile("w", suffix=".toml") as f:
            f.write(toml_text)
            f.flush()
            out = subprocess.run([binary, "check", "--config", f.name], capture_output=True, text=True)
        if out.returncode != 0:
            errors.append(f"{where}: cachefront check failed:\n{out.stderr}")
            continue
        config = tomllib.loads(toml_text)
        server = config["server"]

        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        if ports.get("admin") != port_of(server["admin_listen"]):
            errors.append(f"{where}: admin port {ports.get('admin')} != admin_listen {server['admin_listen']}")
        if ports.get("http") != port_of(server["listen"]):
            errors.append(f"{where}: http port {ports.get('http')} != listen {server['listen']}")
        for probe, want in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            got = container.get(probe, {}).get("httpGet", {})
            if got.get("path") != want or got.get("port") != "admin":
                errors.append(f"{where}: {probe} is {got}, wanted {want} on the admin port")

        drain = seconds(server.get("drain_delay", "5s")) + seconds(server.get("drain_timeout", "30s"))
        pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
        grace = spec.get("terminationGracePeriodSeconds", 30)
        if grace <= drain + pre_stop:
            errors.append(f"{where}: grace {grace}s <= preStop {pre_stop}s + drain_delay + drain_timeout {drain}s")

        sc = container.get("securityContext", {})
        pod_sc = spec.get("securityContext", {})
        if not sc.get("readOnlyRootFilesystem"):
            errors.append(f"{where}: root filesystem is writable")
        if sc.get("allowPrivilegeEscalation") is not False:
            errors.append(f"{where}: privilege escalation not disabled")
        if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
            errors.append(f"{where}: may run as root")
        if "memory" not in container.get("resources", {}).get("limits", {}):
            errors.append(f"{where}: no memory limit")

        for origin_name, origin in config.get("origins", {}).items():
            if origin["kind"] != "http":
                continue
            host = urlsplit(origin["url"]).hostname
            svc = services.get(host)
            if svc is None:
                errors.append(f"{where}: origin {origin_name} -> {host}: no such Service in the render")
                continue
            selector = svc["spec"]["selector"]
            targets = [
                n
                for n, d in deployments.items()
                if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
            ]
            if targets == [name] or not targets:
                errors.append(f"{where}: Service {host} selects {targets or 'no pods'}")
            else:
                print(f"  {name}: origin {origin_name} -> Service {host} -> {', '.join(targets)}")
        print(f"  {name}: config ok, probes on :{ports.get('admin')}, grace {grace}s > {pre_stop}s + {drain}s")
    return errors


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("renders", nargs="+")
    args = parser.parse_args()
    errors = []
    for render in args.renders:
        print(render)
        errors += check_render(render, args.bin)
    for e in errors:
        print(f"ERROR {e}", file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
