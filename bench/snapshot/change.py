#!/usr/bin/env python3
"""Changes to the seeded events, committed the way a writer must (docs/adr/0017), for run.sh.

  change.py visibility --port P --changes N --events K --seeded E --tag T [--timeout S] [--pid PID]
      N changes of K events each; after each, the time from the commit returning to the change
      being served by /search, polled over one keep-alive connection every --poll-ms.
  change.py background --events K --seeded E --tag T [--interval S] [--seed S]
      one change of K events every --interval seconds until SIGTERM or SIGINT.

A change is one transaction, through one psql process kept open (no psql start-up in the timed
part): bump data_version first, then give K random searchable events a new title and stamp them
with the new version, a third of them also moved to new dates, then NOTIFY, COMMIT. Events are
picked by their seed number g (id md5('snapshot-' || g)::uuid, seed.sql). psql connects with the
PG* variables of the environment. The last line of output is a RESULT line.
"""

import argparse
import http.client
import random
import signal
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone

# How a moved event's local times are derived (the seeded provider's zone, seed.sql).
TIME_ZONE = "Europe/Madrid"


class Writer:
    """One psql process; commit() runs one change and returns the rows it changed."""

    def __init__(self, rng, seeded, events_per_change, tag):
        self.rng = rng
        self.seeded = seeded
        self.events = events_per_change
        self.tag = tag
        self.count = 0
        self.psql = subprocess.Popen(
            ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1)

    def close(self):
        self.psql.stdin.close()
        self.psql.wait(timeout=30)

    def _read_until(self, marker):
        lines = []
        while True:
            line = self.psql.stdout.readline()
            if not line:
                sys.exit(f"psql ended (exit status {self.psql.wait()}) before printing {marker}")
            line = line.rstrip("\n")
            if line == marker:
                return lines
            if line:
                lines.append(line)

    def token(self, ordinal):
        """The unique text that starts the new title of the change's ordinal-th event."""
        return f"{self.tag}{self.count:04d}n{ordinal:03d}"

    def commit(self):
        """One change; returns (version, rows, seconds the transaction took), each row a
        (token, starts_at, ends_at, moved) of an event as it is now (times as epoch seconds)."""
        self.count += 1
        # Twice as many candidates as needed: ~5% of the seeded events are not searchable.
        candidates = self.rng.sample(range(1, self.seeded + 1), min(self.seeded, 2 * self.events + 10))
        values = []
        for ordinal, g in enumerate(candidates, 1):
            title = f"{self.token(ordinal)} Función aplazada — nueva fecha en Cádiz"
            if self.rng.random() < 1 / 3:
                # Anywhere within a month either way: far enough to leave its block.
                shift = self.rng.choice([-1, 1]) * self.rng.randint(60, 30 * 1440)
                duration = 60 + 15 * self.rng.randint(0, 20)
                values.append(f"({ordinal}, {g}, '{title}', {shift}, {duration})")
            else:
                values.append(f"({ordinal}, {g}, '{title}', 0, NULL::int)")
        sql = f"""BEGIN;
UPDATE data_version SET version = version + 1, changed_at = now() RETURNING version \\gset
\\echo VERSION :version
WITH candidate (ordinal, g, title, shift_minutes, duration_minutes) AS (VALUES {', '.join(values)}),
picked AS (
    SELECT e.id, c.ordinal, c.title, make_interval(mins => c.shift_minutes) AS shift,
           make_interval(mins => c.duration_minutes) AS duration
    FROM candidate c JOIN events e ON e.id = md5('snapshot-' || c.g)::uuid
    WHERE e.ever_online ORDER BY c.ordinal LIMIT {self.events})
UPDATE events e
SET title = p.title,
    starts_at = e.starts_at + p.shift,
    ends_at = coalesce(e.starts_at + p.shift + p.duration, e.ends_at),
    start_local = (e.starts_at + p.shift) AT TIME ZONE '{TIME_ZONE}',
    end_local = coalesce(e.starts_at + p.shift + p.duration, e.ends_at) AT TIME ZONE '{TIME_ZONE}',
    content_hash = e.content_hash + 1, last_seen_at = now(), changed_at = now(),
    changed_version = :version
FROM picked p
WHERE e.id = p.id
RETURNING p.ordinal, extract(epoch FROM e.starts_at)::bigint, extract(epoch FROM e.ends_at)::bigint,
          p.duration IS NOT NULL;
SELECT pg_notify('marquee_data_version', :'version');
COMMIT;
\\echo COMMITTED
"""
        started = time.monotonic()
        self.psql.stdin.write(sql)
        self.psql.stdin.flush()
        lines = self._read_until("COMMITTED")
        took = time.monotonic() - started
        version = int(lines[0].split()[1])
        rows = []
        for line in lines[1:]:
            ordinal, starts, ends, moved = line.split("|")
            rows.append((self.token(int(ordinal)), int(starts), int(ends), moved == "t"))
        if len(rows) != self.events:
            sys.exit(f"change {self.count} changed {len(rows)} events, not {self.events}")
        return version, rows, took


def iso(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def search_path(row):
    """A narrow search that answers the event of row (and few others), where it is now."""
    _, starts, ends, _ = row
    return f"/search?starts_at={iso(starts)}&ends_at={iso(ends)}"


def serves(conn, row):
    """Whether /search answers the event of row with its new title."""
    conn.request("GET", search_path(row))
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        sys.exit(f"/search answered {response.status}: {body[:200]!r}")
    return f'"title":"{row[0]} '.encode() in body


def rss_mib(pid):
    """VmRSS of process pid in MiB, or None without a pid."""
    if not pid:
        return None
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return None


def percentile(sorted_values, p):
    """Nearest-rank percentile."""
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def visibility(args):
    writer = Writer(random.Random(f"visibility-{args.seed}"), args.seeded, args.events, args.tag)
    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
    latencies = []
    commits = []
    polls_total = 0
    incomplete = 0
    for n in range(1, args.changes + 1):
        version, rows, took = writer.commit()
        committed = time.monotonic()
        # A moved event if there is one: the change that crosses blocks.
        watched = next((row for row in rows if row[3]), rows[0])
        polls = 0
        seen = None
        while seen is None:
            polls += 1
            if serves(conn, watched):
                seen = time.monotonic()
            elif time.monotonic() - committed > args.timeout:
                break
            else:
                time.sleep(args.poll_ms / 1000)
        if seen is None:
            print(f"change {n}: version {version} not served within {args.timeout:g} s; "
                  f"no further changes", flush=True)
            break
        latency_ms = (seen - committed) * 1000
        latencies.append(latency_ms)
        commits.append(took * 1000)
        polls_total += polls
        # Untimed: every event of the change must be served as changed once one is.
        missing = sum(1 for row in rows if not serves(conn, row))
        incomplete += missing != 0
        rss = rss_mib(args.pid)
        print(f"change {n}: version {version}, {len(rows)} events ({sum(r[3] for r in rows)} moved), "
              f"commit {took * 1000:.1f} ms, visible after {latency_ms:.1f} ms ({polls} polls)"
              + (f", {missing} events NOT served yet" if missing else "")
              + (f", API RSS {rss} MiB" if rss is not None else ""), flush=True)
        time.sleep(args.pause)
    writer.close()
    if latencies:
        ordered = sorted(latencies)
        print(f"RESULT changes={len(latencies)} of={args.changes} events_per_change={args.events} "
              f"median_ms={statistics.median(ordered):.1f} p90_ms={percentile(ordered, 90):.1f} "
              f"max_ms={ordered[-1]:.1f} commit_median_ms={statistics.median(commits):.1f} "
              f"polls_per_change={polls_total / len(latencies):.1f} partial={incomplete}")
    else:
        print(f"RESULT changes=0 of={args.changes} events_per_change={args.events} median_ms=never "
              f"p90_ms=never max_ms=never")


def background(args):
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    writer = Writer(random.Random(f"background-{args.seed}"), args.seeded, args.events, args.tag)
    commits = []
    version = 0
    start = time.monotonic()
    while not stopping:
        version, _, took = writer.commit()
        commits.append(took * 1000)
        # On a fixed schedule: one change per interval whatever a commit takes.
        delay = start + len(commits) * args.interval - time.monotonic()
        if delay > 0 and not stopping:
            time.sleep(delay)
    writer.close()
    median = f"{statistics.median(commits):.1f}" if commits else "n/a"
    print(f"RESULT commits={len(commits)} last_version={version} commit_median_ms={median} "
          f"seconds={time.monotonic() - start:.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    for name in ("visibility", "background"):
        p = sub.add_parser(name)
        p.add_argument("--events", type=int, required=True, help="events per change")
        p.add_argument("--seeded", type=int, required=True, help="events seeded (g runs 1..seeded)")
        p.add_argument("--tag", required=True, help="prefix of the new titles, unique per run")
        p.add_argument("--seed", default="0", help="picks the events: the same seed, the same events")
    v = sub.choices["visibility"]
    v.add_argument("--port", type=int, required=True)
    v.add_argument("--changes", type=int, required=True)
    v.add_argument("--timeout", type=float, default=120, help="seconds to wait for one change")
    v.add_argument("--poll-ms", type=float, default=1, help="pause between two polls")
    v.add_argument("--pause", type=float, default=0.5, help="seconds between two changes")
    v.add_argument("--pid", type=int, help="the API's process id, to report its RSS after each change")
    sub.choices["background"].add_argument("--interval", type=float, default=1)
    args = parser.parse_args()
    visibility(args) if args.mode == "visibility" else background(args)


if __name__ == "__main__":
    main()
