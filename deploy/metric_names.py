#!/usr/bin/env python3
"""Checks that every marquee_* metric a PromQL expression reads exists in the binaries' sources.

    deploy/metric_names.py rules   RULES.yml...    every expression of the rule files
    deploy/metric_names.py grafana DASHBOARD.json  every target of the dashboard, whose recording
                                                    rules must be in deploy/prometheus/*.yml

The metrics that exist are the string literals "marquee_..." that api/, adapters/, worker/ and
scheduler/ register (a histogram also gives NAME_bucket, NAME_sum and NAME_count). Each alerting
rule must also have a unit test where it fires and one where it stays quiet (deploy/prometheus/tests).
Prints each problem and exits 1 when there is one.
"""
import json
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE_DIRS = ["api", "adapters", "worker", "scheduler"]
RULES_DIR = ROOT / "deploy" / "prometheus"

# A metric name in PromQL: not part of a longer identifier, a recording rule (level:name:ops) or a
# label value.
METRIC = re.compile(r'(?<![\w:"])(marquee_[a-z0-9_]+)(?![\w:"])')
RECORDED = re.compile(r"(?<![\w\"])([a-z_]+:marquee_[a-z0-9_]+:[a-z0-9_]+)")


def exported_metrics():
    names = set()
    literal = re.compile(r'"(marquee_[a-z0-9_]+)"')
    for d in SOURCE_DIRS:
        for path in (ROOT / d).rglob("*"):
            if path.suffix not in (".cpp", ".hpp") or "build" in path.parts:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            for name in literal.findall(text):
                names.add(name)
                if "make_histogram(" in text:
                    names.update({name + "_bucket", name + "_sum", name + "_count"})
    return names


def rule_files():
    return sorted(p for p in RULES_DIR.glob("*.yml"))


def recorded_names(files):
    names = set()
    for f in files:
        for group in yaml.safe_load(f.read_text())["groups"]:
            names.update(r["record"] for r in group["rules"] if "record" in r)
    return names


def check_expression(where, expr, exported, recorded, problems):
    for name in METRIC.findall(expr):
        if name not in exported:
            problems.append(f"{where}: metric {name} is exported by no binary")
    for name in RECORDED.findall(expr):
        if name not in recorded:
            problems.append(f"{where}: recording rule {name} is defined in no deploy/prometheus/*.yml")


def check_rules(files, exported, problems):
    recorded = recorded_names(files)
    alerts = []
    for f in files:
        for group in yaml.safe_load(f.read_text())["groups"]:
            for rule in group["rules"]:
                name = rule.get("record") or rule.get("alert")
                check_expression(f"{f.name} {name}", rule["expr"], exported, recorded, problems)
                if "alert" in rule:
                    alerts.append(rule["alert"])
    fired, quiet = set(), set()
    for t in sorted((RULES_DIR / "tests").glob("*.yml")):
        for case in yaml.safe_load(t.read_text())["tests"]:
            for a in case.get("alert_rule_test", []):
                (fired if a.get("exp_alerts") else quiet).add(a["alertname"])
    for a in alerts:
        if a not in fired:
            problems.append(f"alert {a}: no unit test in which it fires")
        if a not in quiet:
            problems.append(f"alert {a}: no unit test in which it stays quiet")
    return len(alerts)


def dashboard_targets(dashboard):
    panels = list(dashboard.get("panels", []))
    while panels:
        panel = panels.pop()
        panels.extend(panel.get("panels", []))
        for target in panel.get("targets", []):
            yield panel.get("title", "?"), target.get("expr", "")
    for var in dashboard.get("templating", {}).get("list", []):
        query = var.get("query")
        if isinstance(query, dict):
            query = query.get("query", "")
        if var.get("type") == "query" and query:
            yield f"variable {var.get('name')}", query


def check_grafana(files, exported, problems):
    recorded = recorded_names(rule_files())
    count = 0
    for f in files:
        try:
            dashboard = json.loads(f.read_text())
        except json.JSONDecodeError as e:
            problems.append(f"{f}: not JSON: {e}")
            continue
        uses_variable = False
        for title, expr in dashboard_targets(dashboard):
            count += 1
            if not expr.strip():
                problems.append(f"{f.name} panel {title!r}: a target without an expression")
            check_expression(f"{f.name} panel {title!r}", expr, exported, recorded, problems)
        for panel in dashboard.get("panels", []):
            ds = panel.get("datasource")
            if isinstance(ds, dict) and ds.get("uid") == "${datasource}":
                uses_variable = True
            elif ds is not None and panel.get("type") != "row":
                problems.append(f"{f.name} panel {panel.get('title')!r}: datasource is not ${{datasource}}")
        names = [v.get("name") for v in dashboard.get("templating", {}).get("list", [])]
        if "datasource" not in names or not uses_variable:
            problems.append(f"{f.name}: the datasource must be the template variable ${{datasource}}")
    return count


def main(argv):
    if len(argv) < 3 or argv[1] not in ("rules", "grafana"):
        print(__doc__, file=sys.stderr)
        return 2
    exported = exported_metrics()
    if not exported:
        print("metric_names: found no marquee_* metric in the sources", file=sys.stderr)
        return 1
    problems = []
    files = [pathlib.Path(a) for a in argv[2:]]
    if argv[1] == "rules":
        n = check_rules(files, exported, problems)
        what = f"{n} alerts, each tested firing and quiet"
    else:
        n = check_grafana(files, exported, problems)
        what = f"{n} queries"
    for p in problems:
        print(f"metric_names: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"metric_names: {argv[1]}: {what}; every metric exists ({len(exported)} exported)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
