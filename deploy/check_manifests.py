#!/usr/bin/env python3
"""Checks deployment manifests against the real binaries.

    check_manifests.py --bin-dir DIR [--source-dir DIR] [--k8s RENDERED.yaml] [--compose CONFIG.yaml
                       --haproxy haproxy.cfg]

RENDERED.yaml is `kubectl kustomize deploy/k8s`; CONFIG.yaml is `docker-compose config`. What is
checked, for every container that runs a marquee binary:
  - the command is a marquee binary, and every --flag and environment variable is one its --help
    lists (so a misspelt name fails);
  - ConfigMap and Secret references resolve; each service logs in as its own PostgreSQL role and
    RabbitMQ user (marquee_api, marquee_worker, marquee_scheduler, marquee_migrate);
  - listen addresses are reachable (0.0.0.0) and their ports are the declared container ports,
    metrics annotations, Service target ports, NetworkPolicy ports, healthcheck and HAProxy ports;
  - every probe and healthcheck path answers as it must when the binary runs: each binary is started
    here (with unreachable PostgreSQL/RabbitMQ) and asked; liveness must answer 200, readiness must
    exist (the API's /readyz is 503 without a database);
  - Kubernetes: non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp,
    resource requests and limits; the HPA, PDB and Services select what exists.
Prints every problem and exits 1 when there is one.
"""
import argparse
import os
import pathlib
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import yaml

BINARIES = ["marquee-api", "marquee-worker", "marquee-scheduler", "marquee-migrate", "marquee-provider-mock"]
# Which role and user a component logs in as (docs/operations.md, "Roles").
ROLE_OF = {"api": "marquee_api", "worker": "marquee_worker", "scheduler": "marquee_scheduler",
           "migrate": "marquee_migrate"}
COMPONENT_OF_BINARY = {"marquee-api": "api", "marquee-worker": "worker", "marquee-scheduler": "scheduler",
                       "marquee-migrate": "migrate", "marquee-provider-mock": "provider-mock"}
# The variable holding each binary's HTTP listen address, and what it serves there.
LISTEN_ENV = {"marquee-api": "API_LISTEN", "marquee-worker": "METRICS_LISTEN", "marquee-scheduler": "METRICS_LISTEN",
              "marquee-provider-mock": "MOCK_LISTEN"}
LISTEN_FLAG = {"marquee-provider-mock": "--listen"}
# Paths asked of each running binary.
PATHS_ASKED = {"marquee-api": ["/healthz", "/readyz", "/metrics", "/openapi.yaml", "/no-such-path"],
               "marquee-worker": ["/metrics", "/no-such-path"],
               "marquee-scheduler": ["/metrics", "/no-such-path"],
               "marquee-provider-mock": ["/_control/stats", "/no-such-path"]}
UNREACHABLE_DB = "postgresql://nobody:nothing@127.0.0.1:9/none"
UNREACHABLE_AMQP = "amqp://nobody:nothing@127.0.0.1:9/%2F"

problems = []


def problem(where, message):
    problems.append(f"{where}: {message}")


# ---- the binaries


def interface(bin_dir, binary):
    """(flags, environment variables) from `binary --help`."""
    out = subprocess.run([str(bin_dir / binary), "--help"], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise SystemExit(f"check_manifests: {binary} --help failed: {out.stderr}")
    flags = set(re.findall(r"^\s+(?:-\w,)?(--[a-z0-9][a-z0-9-]*)", out.stdout, re.M))
    env = set(re.findall(r"\(Env:([A-Z0-9_]+)\)", out.stdout))
    if not flags or not env:
        raise SystemExit(f"check_manifests: found no options in {binary} --help")
    return flags, env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_status(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def paths_in(text):
    """Every HTTP path a manifest mentions (probes, annotations, healthchecks, HAProxy checks)."""
    found = re.findall(r"^\s*(?:path|prometheus\.io/path):\s*['\"]?(/[^\s'\"]*)", text, re.M)
    found += re.findall(r"GET (/\S*) HTTP", text)
    found += re.findall(r"\buri (/\S*)", text)
    return set(found)


def served_paths(bin_dir, source_dir, more_paths):
    """{binary: {path: status}} from each binary started here on a free loopback port."""
    answers = {}
    for binary, listed in PATHS_ASKED.items():
        paths = listed + sorted(set(more_paths) - set(listed))
        port = free_port()
        env = dict(os.environ, DATABASE_URL=UNREACHABLE_DB, AMQP_URL=UNREACHABLE_AMQP, LOG_LEVEL="error")
        env[LISTEN_ENV[binary]] = f"127.0.0.1:{port}"
        args = [str(bin_dir / binary)]
        if binary == "marquee-provider-mock":
            args += ["--dir", str(source_dir / "fixtures" / "provider-samples")]
        child = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            # Wait for the listener (a start-up deadline, not a measurement).
            deadline = time.monotonic() + 30
            while get_status(port, paths[0]) is None:
                if child.poll() is not None:
                    raise SystemExit(f"check_manifests: {binary} exited: {child.stderr.read()}")
                if time.monotonic() > deadline:
                    raise SystemExit(f"check_manifests: {binary} did not listen on 127.0.0.1:{port}")
                time.sleep(0.1)
            answers[binary] = {p: get_status(port, p) for p in paths}
        finally:
            child.terminate()
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if answers[binary]["/no-such-path"] != 404:
            raise SystemExit(f"check_manifests: {binary} answers unknown paths with "
                             f"{answers[binary]['/no-such-path']}, so paths cannot be checked")
    return answers


def check_path(where, binary, path, answers, must_be_200):
    if binary not in answers:
        problem(where, f"{binary} serves no HTTP")
        return
    status = answers[binary].get(path)
    if status is None:
        problem(where, f"path {path} was not asked of {binary}: the check missed it")
    elif status == 404:
        problem(where, f"{binary} does not serve {path} (404)")
    elif must_be_200 and status != 200:
        problem(where, f"{binary} answers {path} with {status}, not 200")


def parse_listen(value):
    m = re.fullmatch(r"\[?([^\]]*)\]?:(\d+)", value or "")
    return (m.group(1), int(m.group(2))) if m else (None, None)


def url_user(url):
    try:
        return urllib.parse.urlsplit(url).username
    except ValueError:
        return None


def check_command(where, command, interfaces):
    """The binary a command runs, after checking its flags; None when it is no marquee binary."""
    if not command:
        problem(where, "no command (the image's default CMD only prints --help)")
        return None
    binary = command[0]
    if binary not in interfaces:
        problem(where, f"command {binary!r} is not one of {', '.join(BINARIES)}")
        return None
    flags, _ = interfaces[binary]
    for arg in command[1:]:
        if arg.startswith("--") and arg.split("=", 1)[0] not in flags:
            problem(where, f"{binary} has no flag {arg.split('=', 1)[0]}")
    return binary


def flag_value(command, flag):
    for i, arg in enumerate(command):
        if arg == flag and i + 1 < len(command):
            return command[i + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


def check_env(where, binary, env, interfaces):
    _, known = interfaces[binary]
    for name in env:
        if name not in known:
            problem(where, f"{binary} reads no environment variable {name}")


def check_identity(where, binary, env):
    component = COMPONENT_OF_BINARY[binary]
    role = ROLE_OF.get(component)
    for var in ("DATABASE_URL", "AMQP_URL"):
        if var in env and env[var] is not None and role:
            user = url_user(env[var])
            if user != role:
                problem(where, f"{var} logs in as {user!r}, not as the {component}'s own {role!r}")


# ---- Kubernetes


def labels_match(selector, labels):
    if not selector:
        return True
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        op, key, values = e["operator"], e["key"], e.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def check_k8s(docs, interfaces, answers):
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    configmaps = {d["metadata"]["name"]: d.get("data", {}) for d in by_kind.get("ConfigMap", [])}
    secrets = {d["metadata"]["name"]: dict(d.get("stringData", {}), **d.get("data", {}))
               for d in by_kind.get("Secret", [])}
    workloads = by_kind.get("Deployment", []) + by_kind.get("Job", [])
    pods = []  # (where, labels, [container ports], binary)
    seen_binaries = set()
    for w in workloads:
        name = f"{w['kind']} {w['metadata']['name']}"
        template = w["spec"]["template"]
        spec = template["spec"]
        pod_sc = spec.get("securityContext", {})
        annotations = template["metadata"].get("annotations", {})
        labels = template["metadata"].get("labels", {})
        if w["kind"] == "Deployment" and not labels_match(w["spec"]["selector"], labels):
            problem(name, "its selector does not match its pod template")
        for c in spec["containers"]:
            where = f"{name} container {c['name']}"
            command = list(c.get("command", [])) + list(c.get("args", []))
            binary = check_command(where, command, interfaces)
            if not binary:
                continue
            seen_binaries.add(binary)
            env = {}
            for e in c.get("env", []):
                value = e.get("value")
                ref = e.get("valueFrom", {})
                if "configMapKeyRef" in ref:
                    r = ref["configMapKeyRef"]
                    if r["key"] not in configmaps.get(r["name"], {}):
                        problem(where, f"{e['name']}: ConfigMap {r['name']} has no key {r['key']}")
                    value = configmaps.get(r["name"], {}).get(r["key"])
                elif "secretKeyRef" in ref:
                    r = ref["secretKeyRef"]
                    if r["key"] not in secrets.get(r["name"], {}):
                        problem(where, f"{e['name']}: Secret {r['name']} has no key {r['key']}")
                    value = secrets.get(r["name"], {}).get(r["key"])
                env[e["name"]] = value
            if c.get("envFrom"):
                problem(where, "envFrom passes variables the check cannot name; use env with valueFrom")
            check_env(where, binary, env, interfaces)
            check_identity(where, binary, env)
            ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
            listen_var = LISTEN_ENV.get(binary)
            if listen_var:
                host, port = parse_listen(env.get(listen_var))
                if port is None:
                    problem(where, f"{listen_var} is not set: {binary} would listen on its loopback default")
                else:
                    if host not in ("0.0.0.0", "::", ""):
                        problem(where, f"{listen_var}={env.get(listen_var)} is unreachable from outside the pod")
                    if port not in ports.values():
                        problem(where, f"{listen_var} port {port} is no containerPort ({sorted(ports.values())})")
                    if annotations.get("prometheus.io/scrape") == "true":
                        if annotations.get("prometheus.io/port") != str(port):
                            problem(where, f"prometheus.io/port {annotations.get('prometheus.io/port')} is not "
                                           f"the metrics port {port}")
                        check_path(where + " prometheus.io/path", binary,
                                   annotations.get("prometheus.io/path", "/metrics"), answers, True)
                    else:
                        problem(where, "no prometheus.io/scrape annotation for its /metrics")
            for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
                probe = c.get(kind)
                if not probe:
                    continue
                http = probe.get("httpGet")
                if not http:
                    continue
                port = ports.get(http["port"], http["port"])
                if port not in ports.values():
                    problem(where, f"{kind} port {http['port']} is no containerPort")
                check_path(f"{where} {kind}", binary, http.get("path", "/"), answers, kind != "readinessProbe")
            if binary == "marquee-api":
                paths = {k: c.get(k, {}).get("httpGet", {}).get("path") for k in ("readinessProbe", "livenessProbe")}
                if paths != {"readinessProbe": "/readyz", "livenessProbe": "/healthz"}:
                    problem(where, f"API probes must be readiness /readyz and liveness /healthz, not {paths}")
            # Least privilege and bounded resources.
            sc = c.get("securityContext", {})
            if not (sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True):
                problem(where, "runAsNonRoot is not true")
            if sc.get("runAsUser", pod_sc.get("runAsUser", 0)) == 0:
                problem(where, "runAsUser is not a non-zero uid (the image's USER is a name)")
            if sc.get("readOnlyRootFilesystem") is not True:
                problem(where, "readOnlyRootFilesystem is not true")
            if sc.get("allowPrivilegeEscalation") is not False:
                problem(where, "allowPrivilegeEscalation is not false")
            if "ALL" not in (sc.get("capabilities", {}).get("drop") or []):
                problem(where, "capabilities do not drop ALL")
            seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {}))
            if seccomp.get("type") != "RuntimeDefault":
                problem(where, "seccompProfile is not RuntimeDefault")
            res = c.get("resources", {})
            for part in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in res.get(part, {}):
                        problem(where, f"no {part}.{r}")
        pods.append((name, labels, [p for c in spec["containers"] for p in c.get("ports", [])], w))
    for binary in ("marquee-api", "marquee-worker", "marquee-scheduler", "marquee-migrate"):
        if binary not in seen_binaries:
            problem("kubernetes", f"no workload runs {binary}")
    for d in by_kind.get("Deployment", []):
        if d["metadata"]["name"] == "marquee-scheduler" and d["spec"].get("replicas") != 2:
            problem("Deployment marquee-scheduler", "runs other than 2 replicas")
    for s in by_kind.get("Service", []):
        where = f"Service {s['metadata']['name']}"
        selected = [p for p in pods if labels_match({"matchLabels": s["spec"].get("selector", {})}, p[1])]
        if not selected:
            problem(where, "selects no pod")
        for sp in s["spec"]["ports"]:
            target = sp.get("targetPort", sp["port"])
            for name, _, ports, _ in selected:
                if not any(target in (p.get("name"), p["containerPort"]) for p in ports):
                    problem(where, f"targetPort {target} is no port of {name}")
    deployments = {d["metadata"]["name"] for d in by_kind.get("Deployment", [])}
    for h in by_kind.get("HorizontalPodAutoscaler", []):
        if h["spec"]["scaleTargetRef"]["name"] not in deployments:
            problem(f"HorizontalPodAutoscaler {h['metadata']['name']}", "scales no Deployment of the base")
    for b in by_kind.get("PodDisruptionBudget", []):
        if not any(labels_match(b["spec"]["selector"], p[1]) for p in pods):
            problem(f"PodDisruptionBudget {b['metadata']['name']}", "selects no pod")
    # Every port a pod listens on is let in by some NetworkPolicy (the base denies by default).
    policies = by_kind.get("NetworkPolicy", [])
    for name, labels, ports, _ in pods:
        for p in ports:
            allowed = any(
                labels_match(np["spec"].get("podSelector"), labels)
                and any(any(pp.get("port") in (p["containerPort"], p.get("name")) for pp in rule.get("ports", []))
                        for rule in np["spec"].get("ingress", []) or [])
                for np in policies)
            if not allowed:
                problem(name, f"no NetworkPolicy lets port {p['containerPort']} in")


# ---- docker-compose


def check_compose(config, interfaces, answers, haproxy):
    services = config["services"]
    for name, s in services.items():
        where = f"compose service {name}"
        if "healthcheck" not in s and s.get("restart") != "no":
            problem(where, "no healthcheck")
        if not s.get("cpus") and not s.get("deploy", {}).get("resources", {}).get("limits"):
            problem(where, "no CPU limit")
        if not s.get("mem_limit") and not s.get("deploy", {}).get("resources", {}).get("limits"):
            problem(where, "no memory limit")
        if s.get("image") != "marquee:local":
            continue
        command = s.get("command") or []
        if isinstance(command, str):
            command = shlex.split(command)
        binary = check_command(where, command, interfaces)
        if not binary:
            continue
        env = s.get("environment") or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) if "=" in e else (e, None) for e in env)
        check_env(where, binary, env, interfaces)
        check_identity(where, binary, env)
        if COMPONENT_OF_BINARY[binary] in ROLE_OF and COMPONENT_OF_BINARY[binary] != name:
            problem(where, f"runs {binary} but is not named {COMPONENT_OF_BINARY[binary]}")
        listen = env.get(LISTEN_ENV.get(binary, ""))
        if binary in LISTEN_FLAG:
            listen = flag_value(command, LISTEN_FLAG[binary]) or listen
        host, port = parse_listen(listen)
        hc = s.get("healthcheck")
        if hc:
            test = " ".join(hc.get("test", []))
            m = re.search(r"/dev/tcp/127\.0\.0\.1/(\d+).*GET (\S+) HTTP", test)
            if not m:
                problem(where, f"healthcheck is not the GET http://127.0.0.1:PORT/PATH form: {test}")
            else:
                if port is None or int(m.group(1)) != port:
                    problem(where, f"healthcheck port {m.group(1)} is not the listen port {port}")
                check_path(where + " healthcheck", binary, m.group(2), answers, True if binary != "marquee-api"
                           else m.group(2) != "/readyz")
        if port is not None and host not in ("0.0.0.0", "::", ""):
            problem(where, f"listens on {listen}: unreachable from other containers")
        if name == "api":
            if s.get("ports"):
                problem(where, "publishes a host port, so it cannot be scaled (--scale api=N)")
            m = re.search(r"^\s*server-template\s+\S+\s+\d+\s+api:(\d+)", haproxy, re.M)
            if not m or int(m.group(1)) != port:
                problem("haproxy.cfg", f"server-template does not reach api on its port {port}")
            m = re.search(r"http-check send meth GET uri (\S+)", haproxy)
            if not m:
                problem("haproxy.cfg", "no http-check of the api replicas")
            else:
                check_path("haproxy.cfg http-check", binary, m.group(1), answers, False)
        if name == "worker" and s.get("ports"):
            problem(where, "publishes a host port, so it cannot be scaled (--scale worker=N)")
    for needed in ("migrate", "api", "worker", "scheduler", "lb"):
        if needed not in services:
            problem("compose", f"no service {needed}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin-dir", required=True, type=pathlib.Path)
    parser.add_argument("--source-dir", type=pathlib.Path, default=pathlib.Path(__file__).resolve().parent.parent)
    parser.add_argument("--k8s", type=pathlib.Path)
    parser.add_argument("--compose", type=pathlib.Path)
    parser.add_argument("--haproxy", type=pathlib.Path)
    args = parser.parse_args()
    interfaces = {b: interface(args.bin_dir, b) for b in BINARIES}
    texts = [f.read_text() for f in (args.k8s, args.compose, args.haproxy) if f]
    answers = served_paths(args.bin_dir, args.source_dir, set().union(*(paths_in(t) for t in texts)))
    if answers["marquee-api"]["/healthz"] != 200:
        problem("marquee-api", f"/healthz answers {answers['marquee-api']['/healthz']} without a database, not 200")
    checked = []
    if args.k8s:
        check_k8s([d for d in yaml.safe_load_all(args.k8s.read_text()) if d], interfaces, answers)
        checked.append(str(args.k8s))
    if args.compose:
        haproxy = args.haproxy.read_text() if args.haproxy else ""
        check_compose(yaml.safe_load(args.compose.read_text()), interfaces, answers, haproxy)
        checked.append(str(args.compose))
    for p in problems:
        print(f"check_manifests: {p}", file=sys.stderr)
    if problems:
        print(f"check_manifests: {len(problems)} problem(s) in {', '.join(checked)}", file=sys.stderr)
        return 1
    print(f"check_manifests: {', '.join(checked)} agree with the binaries "
          f"({', '.join(f'{b} {sorted(a.items())}' for b, a in answers.items() if b == 'marquee-api')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
