#!/usr/bin/env python3
"""Load benchmark for timebank on SQLite and PostgreSQL: transfers, reads, batches.

For each backend: fresh database, bootstrap, seed what the chosen cases need
through the API (funded volunteer accounts, a city of organisations, volunteers
and their service records), then run wrk for each case. The server is
restarted before each case (and each leaderboard shape), so peak_rss_mb is the
VmHWM of the process that served that measurement only.

Prints one JSON list on stdout; progress goes to stderr. See bench/README.md.
Only the Python standard library is used.
"""

import argparse
import contextlib
import datetime
import http.client
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor, as_completed

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
LUA_SCRIPT = os.path.join(BENCH_DIR, "transfers.lua")
DEFAULT_OUTPUT = os.path.join(BENCH_DIR, "results", "latest.json")

HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
USERNAME = "bench"
FUND_AMOUNT = "1000000.00"
BACKENDS = ("sqlite", "postgres")
TRANSFER_CASES = ("spread", "hot", "few", "counter")
CASES = TRANSFER_CASES + ("scope", "batch", "leaderboard")
# One GET repeated: the scope case and each leaderboard shape.
GET_LUA = os.path.join(BENCH_DIR, "get_page.lua")
BATCH_LUA = os.path.join(BENCH_DIR, "service_batch.lua")
# The most records POST /v1/service-records/batch takes at once.
BATCH_RECORDS = 500

# Targets from bench/README.md, checked with --check.
HOT_RPS_TARGET = {"sqlite": 10000, "postgres": 4000}
# few and counter on PostgreSQL: at least this share of hot's throughput.
FEW_SHARE_OF_HOT = 0.8
P99_MS_TARGET = 50
# The batch case: service records a second, 500 to a request.
BATCH_RECORDS_TARGET = {"sqlite": 20000, "postgres": 8000}
RSS_MB_TARGET = 150
# GET /v1/leaderboards with 100,000 volunteers and 1,000,000 records.
LEADERBOARD_P99_MS_TARGET = 200
# The leaderboard case's measurements: who reads (an admin naming the
# leaderboard city, or a coordinator of its first district or of one
# community, in their own scope), the query, and whether the second page is
# read (with the first page's next_cursor).
LEADERBOARD_SHAPE_SPECS = {
    "city-all-hours": ("admin", "period=all&by=hours", False),
    "city-year-hours": ("admin", "period=year&by=hours", False),
    "city-month-hours": ("admin", "period=month&by=hours", False),
    "city-all-points": ("admin", "period=all&by=points", False),
    "city-all-hours-page2": ("admin", "period=all&by=hours", True),
    "district-all-hours": ("district", "period=all&by=hours", False),
    "community-all-hours": ("community", "period=all&by=hours", False),
}
LEADERBOARD_SHAPES = tuple(LEADERBOARD_SHAPE_SPECS)
LEADERBOARD_LIMIT = 50


class BenchError(Exception):
    pass


def log(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backend", action="append", choices=BACKENDS,
                   help="backend to run (repeatable; default: both)")
    p.add_argument("--case", action="append", choices=CASES,
                   help="case to run (repeatable; default: all)")
    p.add_argument("--organisations", type=int, default=5_000,
                   help="organisations of the city in the scope case (default 5000)")
    p.add_argument("--scope-accounts", type=int, default=100_000,
                   help="wallets spread over the city in the scope case (default 100000)")
    p.add_argument("--scope-connections", type=int, default=8,
                   help="wrk connections in the scope case: coordinators reading at once "
                        "(default 8); its p99 is a latency at that load, not at saturation")
    p.add_argument("--batch-volunteers", type=int, default=1_000,
                   help="volunteers the batch case records service for (default 1000)")
    p.add_argument("--batch-connections", type=int, default=4,
                   help="wrk connections in the batch case: phones syncing at once (default 4)")
    p.add_argument("--leaderboard-volunteers", type=int, default=100_000,
                   help="volunteers of the leaderboard case's city (default 100000)")
    p.add_argument("--leaderboard-records", type=int, default=1_000_000,
                   help="credited service records the leaderboard case seeds, spread evenly "
                        "over its volunteers (default 1000000)")
    p.add_argument("--leaderboard-organisations", type=int, default=5_000,
                   help="organisations of the leaderboard case's city (default 5000)")
    p.add_argument("--leaderboard-connections", type=int, default=4,
                   help="wrk connections in the leaderboard case (default 4): a latency "
                        "target, not saturation")
    p.add_argument("--leaderboard-shape", action="append", choices=LEADERBOARD_SHAPES,
                   help="leaderboard shape to measure (repeatable; default: all)")
    p.add_argument("--duration", type=int, default=20, help="seconds per case (default 20)")
    p.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    p.add_argument("--accounts", type=int, default=10_000,
                   help="volunteer accounts to seed (default 10000)")
    p.add_argument("--seed-workers", type=int, default=32,
                   help="parallel HTTP clients while seeding (default 32)")
    p.add_argument("--no-build", action="store_true", help="skip cargo build --release")
    p.add_argument("--binary", help="timebank binary to run (implies --no-build)")
    p.add_argument("--output", default=DEFAULT_OUTPUT,
                   help="also write the JSON here ('' to skip; default bench/results/latest.json)")
    p.add_argument("--log-dir",
                   help="keep the server logs here (default: a temp dir removed afterwards)")
    p.add_argument("--keep-database", action="store_true",
                   help="keep the SQLite file (and its temp dir) and the PostgreSQL database "
                        "afterwards, to EXPLAIN a query on what was seeded; logs where they are")
    p.add_argument("--check", action="store_true",
                   help="exit 2 when a target from bench/README.md is missed")
    args = p.parse_args()
    if args.accounts < 2 or args.duration < 1 or args.connections < args.threads:
        p.error("need --accounts >= 2, --duration >= 1 and --connections >= --threads")
    if args.leaderboard_volunteers < 1 or args.leaderboard_records < args.leaderboard_volunteers:
        p.error("need --leaderboard-volunteers >= 1 and --leaderboard-records >= "
                "--leaderboard-volunteers")
    if args.leaderboard_connections < args.threads:
        p.error("need --leaderboard-connections >= --threads")
    return args


def run(cmd, timeout, **kwargs):
    """Run a command with its stdout on our stderr; raise BenchError on failure."""
    try:
        subprocess.run(cmd, check=True, timeout=timeout, stdout=sys.stderr, **kwargs)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
        raise BenchError(f"{' '.join(cmd)}: {e}") from e


def build():
    log("cargo build --release")
    run(["cargo", "build", "--release"], timeout=3600, cwd=REPO_DIR)


def ensure_wrk():
    if shutil.which("wrk"):
        return
    sudo = [] if os.geteuid() == 0 or not shutil.which("sudo") else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = sudo + ["apt-get", "install", "-y", "wrk"]
    log("wrk not found; installing it with apt-get")
    try:
        run(install, timeout=600, env=env)
    except BenchError:
        run(sudo + ["apt-get", "update"], timeout=600, env=env)
        run(install, timeout=600, env=env)
    if not shutil.which("wrk"):
        raise BenchError("wrk is still not on PATH after apt-get install")


def pg_ready():
    cmd = ["pg_isready", "-q", "-h", HOST, "-p", str(PG_PORT)]
    return subprocess.run(cmd, timeout=15).returncode == 0


def ensure_postgres():
    for tool in ("psql", "pg_isready"):
        if not shutil.which(tool):
            raise BenchError(f"{tool} not found; install the PostgreSQL client")
    if pg_ready():
        return
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not versions:
        raise BenchError(f"PostgreSQL is not answering on {HOST}:{PG_PORT} and no cluster is configured")
    for version in versions:
        log(f"starting PostgreSQL {version}/main")
        run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], timeout=120)
    deadline = time.monotonic() + 30
    while not pg_ready():
        if time.monotonic() > deadline:
            raise BenchError(f"PostgreSQL did not become ready on {HOST}:{PG_PORT}")
        time.sleep(0.5)


def psql(sql):
    cmd = ["psql", "-h", HOST, "-p", str(PG_PORT), "-U", PG_USER, "-d", "postgres",
           "-v", "ON_ERROR_STOP=1", "-qAtc", sql]
    run(cmd, timeout=120, env=dict(os.environ, PGCONNECT_TIMEOUT="10"))


def drop_database(name):
    log(f"dropping database {name}")
    try:
        psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except BenchError as e:
        log(f"could not drop database {name}: {e}")


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def tail(path, lines=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


class Server:
    """One `timebank serve` process on a free loopback port."""

    def __init__(self, binary, env, log_path):
        self.port = free_port()
        self.log_path = log_path
        env = dict(env, TIMEBANK_BIND=f"{HOST}:{self.port}")
        with open(log_path, "ab") as out:
            self.proc = subprocess.Popen([binary, "serve"], env=env, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT)
        log(f"server pid {self.proc.pid} on {HOST}:{self.port}")

    def wait_ready(self, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"server exited with {self.proc.returncode}:\n{tail(self.log_path)}")
            conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
            try:
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            finally:
                conn.close()
            time.sleep(0.2)
        raise BenchError(f"server not ready after {timeout}s:\n{tail(self.log_path)}")

    def cpu_seconds_by_thread(self):
        """CPU time (user + system) so far, summed per thread name."""
        ticks = os.sysconf("SC_CLK_TCK")
        totals = {}
        task_dir = f"/proc/{self.proc.pid}/task"
        for tid in os.listdir(task_dir):
            try:
                with open(f"{task_dir}/{tid}/comm") as f:
                    name = f.read().strip()
                with open(f"{task_dir}/{tid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the thread ended meanwhile
            # After the ")" the fields start at field 3, so utime (14) and stime (15)
            # are at positions 11 and 12.
            totals[name] = totals.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
        return totals

    def peak_rss_mb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
        raise BenchError("VmHWM missing from /proc status")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Api:
    """Minimal JSON client: one keep-alive connection per thread."""

    def __init__(self, port, token=None):
        self.port = port
        self.token = token
        self.local = threading.local()

    def post(self, path, body, idempotency_key=None, expect=(200, 201)):
        return self.request("POST", path, body, idempotency_key, expect)

    def get(self, path, expect=(200,)):
        return self.request("GET", path, None, None, expect)

    def request(self, method, path, body, idempotency_key, expect):
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        data = None if body is None else json.dumps(body).encode()
        # One retry on a dropped connection; safe because requests carry
        # idempotency keys (or client ids), and GETs change nothing.
        for attempt in (1, 2):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
            try:
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                self.local.conn = None
                if attempt == 2:
                    raise BenchError(f"{method} {path}: {e}") from e
                continue
            if resp.will_close:
                conn.close()
                self.local.conn = None
            if resp.status not in expect:
                raise BenchError(f"{method} {path} -> {resp.status}: "
                                 f"{raw[:500].decode(errors='replace')}")
            return json.loads(raw) if raw else {}

    def login(self, password):
        return self.login_as(USERNAME, password)

    def login_as(self, username, password):
        reply = self.post("/v1/auth/token", {"username": username, "password": password})
        self.token = reply["access_token"]
        return self.token


def seed(api, info, count, workers, run_id, deadline):
    """Create `count` volunteer accounts and fund each from the issuance account."""
    issuance = info["issuance_account_id"]

    def one(i):
        if time.monotonic() > deadline:
            raise BenchError("seeding took too long")
        account = api.post("/v1/accounts",
                           {"ledger_id": info["ledger_id"], "kind": "volunteer",
                            "name": f"bench volunteer {i}"},
                           idempotency_key=f"{run_id}-account-{i}", expect=(201,))
        api.post("/v1/transfers",
                 {"kind": "adjustment", "postings": [
                     {"account_id": issuance, "direction": "debit", "amount": FUND_AMOUNT},
                     {"account_id": account["id"], "direction": "credit", "amount": FUND_AMOUNT}]},
                 idempotency_key=f"{run_id}-fund-{i}", expect=(201,))
        return account["id"]

    ids = [None] * count
    started = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        futures = {pool.submit(one, i): i for i in range(count)}
        for done, future in enumerate(as_completed(futures), 1):
            ids[futures[future]] = future.result()
            if done % 1000 == 0 or done == count:
                log(f"seeded {done}/{count} accounts ({done / (time.monotonic() - started):.0f}/s)")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return ids


def case_connections(args, case):
    return {"scope": args.scope_connections,
            "batch": args.batch_connections,
            "leaderboard": args.leaderboard_connections}.get(case, args.connections)


def run_wrk(args, case, port, files, issuance, run_id, partner, activity="", path="",
            label=None):
    env = dict(os.environ,
               TIMEBANK_BENCH_CASE=case,
               TIMEBANK_BENCH_ACCOUNTS=files["accounts"],
               TIMEBANK_BENCH_VOLUNTEERS=files["volunteers"],
               TIMEBANK_BENCH_ACTIVITY=activity,
               TIMEBANK_BENCH_PATH=path,
               TIMEBANK_BENCH_THREADS=str(args.threads),
               TIMEBANK_BENCH_UUID_PREFIX=secrets.token_hex(4),
               TIMEBANK_BENCH_TOKEN=files["token"],
               TIMEBANK_BENCH_ISSUANCE=issuance,
               TIMEBANK_BENCH_PARTNER=partner,
               TIMEBANK_BENCH_RUN_ID=run_id)
    script = {"scope": GET_LUA, "leaderboard": GET_LUA, "batch": BATCH_LUA}.get(case, LUA_SCRIPT)
    connections = case_connections(args, case)
    cmd = ["wrk", f"-t{args.threads}", f"-c{connections}", f"-d{args.duration}s",
           "--timeout", "10s", "-s", script, f"http://{HOST}:{port}/"]
    log(f"{label or case}: {' '.join(cmd)}" + (f" ({path})" if path else ""))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True,
                              timeout=args.duration + 120)
    except subprocess.TimeoutExpired as e:
        raise BenchError(f"wrk did not finish: {e}") from e
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    sys.stderr.write(proc.stdout + proc.stderr)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("BENCH_RESULT ")]
    if proc.returncode != 0 or not lines:
        raise BenchError(f"wrk failed (exit {proc.returncode}) or printed no BENCH_RESULT")
    result = json.loads(lines[-1].split(" ", 1)[1])
    # wrk is the only child waited for meanwhile, so this is its CPU time.
    result["cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


def bench_backend(backend, args, binary, run_id):
    results = []
    servers = []
    with contextlib.ExitStack() as stack:
        workdir = tempfile.mkdtemp(prefix=f"timebank-bench-{backend}-")
        if backend == "sqlite":
            db_url = os.path.join(workdir, "timebank.db")
        else:
            ensure_postgres()
            db_name = f"timebank_bench_{run_id}"
            log(f"creating database {db_name}")
            psql(f'CREATE DATABASE "{db_name}"')
            db_url = f"postgres://{PG_USER}@{HOST}:{PG_PORT}/{db_name}"
        if args.keep_database:
            stack.callback(log, f"{backend}: kept the database {db_url}")
        else:
            stack.callback(shutil.rmtree, workdir, ignore_errors=True)
            if backend == "postgres":
                stack.callback(drop_database, db_name)

        password = f"Bench-{secrets.token_hex(12)}-Pw1!"
        env = dict(os.environ,
                   TIMEBANK_DATABASE_URL=db_url,
                   TIMEBANK_JWT_SECRET=secrets.token_hex(32),
                   TIMEBANK_ACCESS_TOKEN_TTL_SECONDS="3600",
                   TIMEBANK_BOOTSTRAP_PASSWORD=password)
        files = {"accounts": os.path.join(workdir, "accounts.txt"),
                 "volunteers": os.path.join(workdir, "volunteers.txt"),
                 "token": os.path.join(workdir, "token.txt")}

        def start_server(label):
            log_dir = args.log_dir or workdir
            os.makedirs(log_dir, exist_ok=True)
            server = Server(binary, env, os.path.join(log_dir, f"server-{backend}-{label}.log"))
            servers.append(server)
            stack.callback(server.stop)
            server.wait_ready()
            api = Api(server.port)
            api.login(password)
            return server, api

        def measure(case, label, credentials=None, path="", prepare=None):
            """One wrk run on a server started for it, as the bootstrap admin or
            as `credentials` (logged in now: tokens last an hour and seeding
            may have taken a while). `prepare(api)` may return the path."""
            server, api = start_server(label)
            if credentials:
                api = Api(server.port)
                api.login_as(*credentials)
            if prepare:
                path = prepare(api)
            with open(os.open(files["token"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                      "w") as f:
                f.write(api.token + "\n")
            cpu_before = server.cpu_seconds_by_thread()
            w = run_wrk(args, case, server.port, files, info["issuance_account_id"], run_id,
                        partner, activity, path, label)
            cpu_after = server.cpu_seconds_by_thread()
            rss = server.peak_rss_mb()
            server.stop()
            if w["status"]:
                log(f"{label}: {w['status']} answers >= 400; the first: "
                    f"{first_refusal(server.log_path)}")
            return {
                "backend": backend,
                "case": case,
                "requests_per_sec": round(w["requests"] / (w["duration_us"] / 1e6), 1),
                "p50_ms": round(w["p50_us"] / 1000, 2),
                "p99_ms": round(w["p99_us"] / 1000, 2),
                "max_ms": round(w["max_us"] / 1000, 2),
                "errors": w["connect"] + w["read"] + w["write"] + w["timeout"] + w["status"],
                "requests": w["requests"],
                "peak_rss_mb": rss,
                "peak_rss_scope": "case (server restarted before each case)",
                "duration_s": round(w["duration_us"] / 1e6, 2),
                "connections": case_connections(args, case),
                # Server CPU per request, by thread kind: where the time goes
                # (the transfer writer is the one serial part).
                "cpu_us_per_request": {
                    name: round((cpu_after.get(name, 0.0) - spent) * 1e6
                                / max(w["requests"], 1), 1)
                    for name, spent in cpu_before.items()
                    if cpu_after.get(name, 0.0) - spent > 0
                },
                # The load generator shares the machine's two cores.
                "load_generator_cpu_us_per_request": round(
                    w["cpu_s"] * 1e6 / max(w["requests"], 1), 1),
                **({"records_per_request": w["records_per_request"]}
                   if "records_per_request" in w else {}),
            }

        try:
            log(f"{backend}: bootstrap")
            boot = subprocess.run([binary, "bootstrap", "--username", USERNAME], env=env,
                                  capture_output=True, text=True, timeout=300)
            if boot.returncode != 0:
                raise BenchError(f"bootstrap failed ({boot.returncode}):\n{boot.stderr[-3000:]}")
            info = parse_bootstrap(boot.stdout)

            server, api = start_server("seed")
            partner = ""
            if any(case in TRANSFER_CASES for case in args.case):
                log(f"{backend}: seeding {args.accounts} accounts")
                ids = seed(api, info, args.accounts, args.seed_workers, run_id,
                           deadline=time.monotonic() + 1800)
                with open(files["accounts"], "w") as f:
                    f.write("\n".join(ids) + "\n")
                partner = api.post("/v1/accounts",
                                   {"ledger_id": info["ledger_id"], "kind": "partner",
                                    "name": "bench partner shop"}, expect=(201,))["id"]
            scope_user = None
            if "scope" in args.case:
                scope_user = seed_city(api, info, args)
            activity, batch_user = "", None
            if "batch" in args.case:
                activity, batch_user = seed_volunteers(api, info, args, files["volunteers"])
            board = None
            if "leaderboard" in args.case:
                board = seed_leaderboard(api, info, args, password)
            server.stop()

            for case in args.case:
                if case == "leaderboard":
                    for shape in args.leaderboard_shape:
                        results.append(measure_leaderboard(measure, board, shape))
                        log(f"{backend}/{case}/{shape}: {json.dumps(results[-1])}")
                    continue
                user = {"scope": scope_user, "batch": batch_user}.get(case)
                path = "/v1/accounts?limit=50" if case == "scope" else ""
                results.append(measure(case, case, user, path))
                if case == "batch":
                    results[-1]["records_per_sec"] = round(
                        results[-1]["requests_per_sec"] * results[-1]["records_per_request"])
                log(f"{backend}/{case}: {json.dumps(results[-1])}")
        except BaseException:
            if servers:
                log(f"last server log ({servers[-1].log_path}):\n{tail(servers[-1].log_path)}")
            raise
    return results


def parallel(workers, fn, items, label=None, every=10_000):
    """fn over items on `workers` threads, results in order; with `label`,
    logs the progress every `every` items. The first failure stops the rest."""
    items = list(items)
    done = [0]
    lock = threading.Lock()
    started = time.monotonic()

    def counted(item):
        result = fn(item)
        if label:
            with lock:
                done[0] += 1
                n = done[0]
            if n % every == 0 or n == len(items):
                log(f"{label}: {n}/{len(items)} ({n / (time.monotonic() - started):.0f}/s)")
        return result

    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        return list(pool.map(counted, items))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def add_user(api, role, organisation, label):
    """A new login with one role at `organisation`: (username, password)."""
    username = f"{label}-{secrets.token_hex(4)}"
    password = f"Bench-{secrets.token_hex(12)}-Pw1!"
    api.post("/v1/users", {"username": username, "password": password,
                           "roles": [{"role": role, "organisation_id": organisation}]},
             expect=(201,))
    return username, password


def add_volunteers(api, communities, count, workers, label, phone_prefix, consent=None):
    """`count` volunteers through POST /v1/volunteers, volunteer i at home in
    communities[i % len(communities)] and consenting to leaderboards when
    consent(i); their ids in order."""
    def one(i):
        return api.post("/v1/volunteers",
                        {"name": f"{label} volunteer {i}", "phone": f"+86 {phone_prefix}{i:08d}",
                         "organisation_id": communities[i % len(communities)],
                         "leaderboard_consent": bool(consent and consent(i))},
                        expect=(201,))["id"]

    return parallel(workers, one, range(count), label=f"{label}: volunteers")


def seed_volunteers(api, info, args, path):
    """The batch case's community: an activity, args.batch_volunteers
    volunteers (ids written to `path`) and a coordinator, whose username and
    password are returned with the activity."""
    community = api.post("/v1/organisations",
                         {"name": "bench community", "kind": "community",
                          "parent_id": info["organisation_id"]}, expect=(201,))["id"]
    activity = api.post("/v1/activities",
                        {"organisation_id": community, "name": "bench visiting",
                         "category": "elderly_care"}, expect=(201,))["id"]
    coordinator = add_user(api, "coordinator", community, "bench-coordinator")
    ids = add_volunteers(api, [community], args.batch_volunteers, args.seed_workers,
                         "bench", "137")
    with open(path, "w") as f:
        f.write("\n".join(ids) + "\n")
    log(f"seeded {len(ids)} volunteers for the batch case")
    return activity, coordinator


def seed_organisations(api, city, total, workers, label):
    """A city's tree under `city`: 10 districts of 20 streets each, and
    communities under the streets to make `total` organisations counting
    `city` (at least one a street). Returns the district and community ids."""
    districts = 10
    streets_per_district = 20
    streets = districts * streets_per_district
    communities_per_street = max(1, -(-(total - 1 - districts - streets) // streets))

    def org(name, kind, parent):
        return api.post("/v1/organisations", {"name": name, "kind": kind, "parent_id": parent},
                        expect=(201,))["id"]

    log(f"{label}: seeding the city's organisations")
    district_ids = [org(f"District {d}", "district", city) for d in range(districts)]
    street_ids = parallel(workers, lambda p: org(f"Street {p[1]}", "street", p[0]),
                          [(d, s) for d in district_ids for s in range(streets_per_district)])
    communities = parallel(workers, lambda p: org(f"Community {p[1]}", "community", p[0]),
                           [(s, c) for s in street_ids for c in range(communities_per_street)])
    log(f"{label}: {1 + len(district_ids) + len(street_ids) + len(communities)} organisations")
    return district_ids, communities


def seed_city(api, info, args):
    """The scope case's city: districts, streets and communities under the
    bootstrap organisation (args.organisations in all), args.scope_accounts
    wallets spread over the communities, and a coordinator of the first
    district, whose username and password are returned."""
    district_ids, communities = seed_organisations(api, info["organisation_id"],
                                                   args.organisations, args.seed_workers, "scope")
    log(f"scope: seeding {args.scope_accounts} wallets")
    started = time.monotonic()

    def wallet(i):
        return api.post("/v1/accounts",
                        {"ledger_id": info["ledger_id"], "kind": "volunteer",
                         "organisation_id": communities[i % len(communities)],
                         "name": f"city volunteer {i}"}, expect=(201,))["id"]

    parallel(args.seed_workers, wallet, range(args.scope_accounts))
    log(f"scope: wallets seeded in {time.monotonic() - started:.0f}s")
    return add_user(api, "coordinator", district_ids[0], "district-coordinator")


# A volunteer's records lie this many days apart (each on its own day, so
# no overlap or daily cap refuses one), and volunteers' records are offset
# from each other's by up to as many days.
RECORD_DAY_STRIDE = 37
# Every seeded record starts at this hour of the scheme's clock (after the
# night of the approval thresholds) and lasts 30 to 240 minutes.
RECORD_START_HOUR = 8
RECORD_MAX_MINUTES = 240


def service_zone():
    """The scheme's time zone, as the server reads it (default +08:00)."""
    text = os.environ.get("TIMEBANK_SERVICE_UTC_OFFSET") or "+08:00"
    try:
        return datetime.datetime.strptime(text, "%z").tzinfo
    except ValueError as e:
        raise BenchError(f"TIMEBANK_SERVICE_UTC_OFFSET {text!r}: {e}") from e


def record_plan(volunteers, count, zone, now=None):
    """Where the leaderboard case's records fall: a function of record r
    giving (volunteer index, started_at, minutes). Record r is the
    (r // n)-th of volunteer r % n; its day is the latest day whose records
    have all ended, less RECORD_DAY_STRIDE days per earlier record and the
    volunteer's own offset, so most volunteers served this year, some this
    month, and minutes vary between volunteers and records."""
    now = (now or datetime.datetime.now(datetime.timezone.utc)).astimezone(zone)
    latest_end = datetime.time(RECORD_START_HOUR + RECORD_MAX_MINUTES // 60, 10)
    anchor = now.date() if now.time() >= latest_end else now.date() - datetime.timedelta(days=1)
    n = volunteers

    def plan(r):
        v, j = r % n, r // n
        day = anchor - datetime.timedelta(days=j * RECORD_DAY_STRIDE + v % RECORD_DAY_STRIDE)
        start = datetime.datetime.combine(day, datetime.time(RECORD_START_HOUR), tzinfo=zone)
        # Each volunteer serves longer or shorter as a rule (level), each
        # record a little more or less: totals spread widely, with ties.
        units = RECORD_MAX_MINUTES // 15 - 2 - 4
        level = (v * 2_654_435_761) % 2**32 >> 8
        jitter = ((v * 1_000_003 + j * 7_919) * 2_654_435_761) % 2**32 >> 8
        minutes = 15 * (2 + level % (units + 1) + jitter % 5)
        return v, start, minutes

    in_month = sum(1 for v in range(min(n, count))
                   if (plan(v)[1].year, plan(v)[1].month) == (now.year, now.month))
    return plan, in_month


def seed_service_records(api, activity, volunteers, count, workers, zone):
    """`count` credited service records through POST /v1/service-records/batch,
    BATCH_RECORDS a request (as service_batch.lua sends them: one activity,
    each record with its own client id and its own (volunteer, day)), laid
    out by record_plan. Returns the seconds it took."""
    plan, in_month = record_plan(len(volunteers), count, zone)
    if not in_month:
        log("leaderboard: no record falls in this month yet (too early on its first day): "
            "period=month will be empty")
    prefix = secrets.token_hex(4)

    def batch(first):
        records = []
        for r in range(first, min(first + BATCH_RECORDS, count)):
            v, start, minutes = plan(r)
            records.append({"volunteer_id": volunteers[v], "activity_id": activity,
                            "started_at": start.isoformat(), "minutes": minutes,
                            "client_id": f"{prefix}-0000-4000-8000-{r:012x}"})
        reply = api.post("/v1/service-records/batch", {"records": records}, expect=(200,))
        if reply["refused"] or reply["created"] + reply["found"] != len(records):
            refused = next((i for i in reply["results"] if i.get("problem")), {})
            raise BenchError(f"a seeding batch was refused: {json.dumps(refused)[:500]}")
        return len(records)

    started = time.monotonic()
    parallel(workers, batch, range(0, count, BATCH_RECORDS), label="leaderboard: records",
             every=max(1, 100_000 // BATCH_RECORDS))
    return time.monotonic() - started


def seed_leaderboard(api, info, args, admin_password):
    """The leaderboard case's city, its own tree under the bootstrap
    organisation (args.leaderboard_organisations in all), an activity
    offered city-wide, args.leaderboard_volunteers volunteers spread over
    its communities (two in three consenting to leaderboards),
    args.leaderboard_records credited records, and coordinators of its
    first district and of one community. Returns what the shapes read as."""
    city = api.post("/v1/organisations",
                    {"name": "Leaderboard city", "kind": "city",
                     "parent_id": info["organisation_id"]}, expect=(201,))["id"]
    districts, communities = seed_organisations(api, city, args.leaderboard_organisations,
                                                args.seed_workers, "leaderboard")
    activity = api.post("/v1/activities",
                        {"organisation_id": city, "name": "leaderboard visiting",
                         "category": "elderly_care"}, expect=(201,))["id"]
    users = {"district": add_user(api, "coordinator", districts[0], "lb-district"),
             "community": add_user(api, "coordinator", communities[0], "lb-community")}
    started = time.monotonic()
    volunteers = add_volunteers(api, communities, args.leaderboard_volunteers, args.seed_workers,
                                "leaderboard", "138", consent=lambda i: i % 3 != 0)
    volunteers_s = time.monotonic() - started
    # The volunteers may have taken a while, and tokens last an hour.
    api.login(admin_password)
    # As many at once as phones in the batch case: the records' writes are serial.
    records_s = seed_service_records(api, activity, volunteers, args.leaderboard_records,
                                     args.batch_connections, service_zone())
    seeding = {
        "volunteers": len(volunteers),
        "volunteers_s": round(volunteers_s, 1),
        "volunteers_per_sec": round(len(volunteers) / volunteers_s, 1),
        "records": args.leaderboard_records,
        "records_s": round(records_s, 1),
        "records_per_sec": round(args.leaderboard_records / records_s),
        "records_per_request": BATCH_RECORDS,
        "record_connections": args.batch_connections,
    }
    log(f"leaderboard: seeded {json.dumps(seeding)}")
    return {"city": city, "users": users, "seeding": seeding}


def measure_leaderboard(measure, board, shape):
    """One leaderboard shape: its board is read once first (it must have
    places; for page 2, the first page gives the cursor), then by wrk."""
    caller, query, second_page = LEADERBOARD_SHAPE_SPECS[shape]
    # An admin names the city; a coordinator reads their own scope.
    scope = f"organisation={board['city']}&" if caller == "admin" else ""
    path = f"/v1/leaderboards?{scope}{query}&limit={LEADERBOARD_LIMIT}"
    seen = {}

    def prepare(api):
        target = path
        if second_page:
            first = api.get(path)
            if not first.get("next_cursor"):
                raise BenchError(f"{shape}: {path} has no second page")
            target = f"{path}&cursor={urllib.parse.quote(first['next_cursor'], safe='')}"
        page = api.get(target)
        items = page["items"]
        if not items:
            raise BenchError(f"{shape}: {target} has no places")
        seen.update(places=len(items), anonymous=sum(1 for i in items if i["anonymous"]),
                    first_rank=items[0]["rank"], first_hours=items[0]["hours"]["hours"],
                    period_key=page["period_key"])
        return target

    user = None if caller == "admin" else board["users"][caller]
    row = measure("leaderboard", f"leaderboard-{shape}", user, prepare=prepare)
    row["shape"] = shape
    row["page"] = dict(seen)
    row["seeding"] = board["seeding"]
    return row


def first_refusal(log_path):
    """The server's log line for the first request it refused or failed."""
    try:
        with open(log_path, errors="replace") as f:
            for line in f:
                if "request refused" in line or "request failed" in line:
                    return line.strip()
    except OSError:
        pass
    return "(not in the server log)"


def parse_bootstrap(stdout):
    """The bootstrap JSON object: all of stdout, or else its last line."""
    for text in (stdout, (stdout.strip().splitlines() or [""])[-1]):
        try:
            info = json.loads(text)
        except ValueError:
            continue
        if isinstance(info, dict) and {"ledger_id", "issuance_account_id"} <= info.keys():
            return info
    raise BenchError(f"bootstrap printed no usable JSON object: {stdout[-1000:]!r}")


def missed_targets(results):
    missed = []
    for r in results:
        name = "/".join(filter(None, (r["backend"], r["case"], r.get("shape"))))
        if r["case"] == "batch":
            target = BATCH_RECORDS_TARGET[r["backend"]]
            if r["records_per_sec"] < target:
                missed.append(f"{name}: {r['records_per_sec']} records/s < {target}/s")
            if r["errors"]:
                missed.append(f"{name}: {r['errors']} errors")
            continue
        if r["case"] == "hot" and r["requests_per_sec"] < HOT_RPS_TARGET[r["backend"]]:
            missed.append(f"{name}: {r['requests_per_sec']}/s < {HOT_RPS_TARGET[r['backend']]}/s")
        hot = next((h for h in results
                    if h["backend"] == r["backend"] and h["case"] == "hot"), None)
        if (r["backend"] == "postgres" and r["case"] in ("few", "counter") and hot
                and r["requests_per_sec"] < FEW_SHARE_OF_HOT * hot["requests_per_sec"]):
            missed.append(f"{name}: {r['requests_per_sec']}/s < {FEW_SHARE_OF_HOT} x hot")
        p99_target = LEADERBOARD_P99_MS_TARGET if r["case"] == "leaderboard" else P99_MS_TARGET
        if r["p99_ms"] > p99_target:
            missed.append(f"{name}: p99 {r['p99_ms']} ms > {p99_target} ms")
        if r["errors"]:
            missed.append(f"{name}: {r['errors']} errors")
        if r["peak_rss_mb"] > RSS_MB_TARGET:
            missed.append(f"{name}: RSS {r['peak_rss_mb']} MB > {RSS_MB_TARGET} MB")
    return missed


def main():
    args = parse_args()
    args.backend = [b for b in BACKENDS if b in (args.backend or BACKENDS)]
    args.case = [c for c in CASES if c in (args.case or CASES)]
    args.leaderboard_shape = [s for s in LEADERBOARD_SHAPES
                              if s in (args.leaderboard_shape or LEADERBOARD_SHAPES)]
    # Turn SIGTERM/SIGHUP into SystemExit so every cleanup below still runs.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, _frame: sys.exit(128 + signum))

    try:
        if args.binary:
            binary = os.path.abspath(args.binary)
        else:
            if not args.no_build:
                build()
            target_dir = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO_DIR, "target"))
            binary = os.path.join(target_dir, "release", "timebank")
        if not os.access(binary, os.X_OK):
            raise BenchError(f"no executable at {binary}")
        ensure_wrk()
        run_id = f"{time.strftime('%Y%m%d%H%M%S')}_{secrets.token_hex(3)}"
        results = []
        for backend in args.backend:
            results += bench_backend(backend, args, binary, run_id)
    except BenchError as e:
        log(f"error: {e}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130

    document = json.dumps(results, indent=2)
    print(document)
    if args.output:
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        with open(args.output, "w") as f:
            f.write(document + "\n")
        log(f"wrote {args.output}")
    missed = missed_targets(results)
    for line in missed:
        log(f"target missed: {line}")
    return 2 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
