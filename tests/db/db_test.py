"""segmenta against a real PostgreSQL server (tests/db/pg_cluster.sh starts it).

Usage: db_test.py SEGMENTA CLUSTER_DIR SHARED_DIR WORK_DIR [unittest args]

The reference for every result is segmenta's own CSV path on the same data (labels,
segments.csv, score's CSV) and the table as the server itself returns it, read with
psql on a second connection.
"""
import csv
import io
import os
import shutil
import subprocess
import sys
import time
import unittest

SEGMENTA, CLUSTER, SHARED, WORK = sys.argv[1:5]
del sys.argv[1:5]
SHARED = os.environ.get("SEGMENTA_SHARED") or SHARED


def cluster_env():
    env = {}
    with open(os.path.join(CLUSTER, "env")) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            env[k] = v
    return env


ENV = cluster_env()
URI = open(os.path.join(CLUSTER, "uri")).read().strip()
PASSWORD = open(os.path.join(CLUSTER, "password")).read().strip()
PORT = ENV["PGPORT"]
PSQL = os.path.join(ENV["PGBINDIR"], "psql")
URI_WITH_PASSWORD = f"postgresql://segmenta:{PASSWORD}@127.0.0.1:{PORT}/segmenta"
BANK_FULL = os.path.join(SHARED, "data", "bank-full.csv")
BANK = os.path.join(SHARED, "data", "bank.csv")

BANK_COLUMNS = (
    "age integer, job text, marital text, education text, \"default\" text, balance integer, housing text, "
    "loan text, contact text, day integer, month text, duration integer, campaign integer, pdays integer, "
    "previous integer, poutcome text, y text"
)


def client_env(password=True):
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("PG"):
            del env[k]
    if password:
        env["PGPASSWORD"] = PASSWORD
    return env


def psql(*sql, csv_out=False):
    """Runs SQL on a connection of its own; returns the output (CSV with a header when csv_out)."""
    args = [PSQL, URI, "-X", "-q", "-v", "ON_ERROR_STOP=1"]
    args += ["--csv"] if csv_out else ["-A", "-t"]
    for s in sql:
        args += ["-c", s]
    r = subprocess.run(args, env=client_env(), capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError(f"psql failed: {r.stderr}")
    return r.stdout


def table_rows(table, order):
    return list(csv.DictReader(io.StringIO(psql(f"SELECT * FROM {table} ORDER BY {order}", csv_out=True))))


def segmenta(*args, password=True, env_extra=None):
    env = client_env(password)
    if env_extra:
        env.update(env_extra)
    return subprocess.run([SEGMENTA, *args], env=env, capture_output=True, text=True)


def work(name):
    path = os.path.join(WORK, name)
    shutil.rmtree(path, ignore_errors=True)
    if os.path.exists(path):
        os.remove(path)
    return path


def load_bank(table, path):
    psql(f"DROP TABLE IF EXISTS {table}", f"CREATE TABLE {table} ({BANK_COLUMNS})",
         f"\\copy {table} FROM '{path}' WITH (FORMAT csv, HEADER true, DELIMITER ';')")


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def fingerprint(table):
    """Row count and an md5 of the table's rows in order, from a second connection."""
    return psql(f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t").strip()


def setUpModule():
    os.makedirs(WORK, exist_ok=True)
    load_bank("bank", BANK)


class Source(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        load_bank("bank_full", BANK_FULL)

    def run_both(self, name, *flags):
        db_out, csv_out = work(name + "_db"), work(name + "_csv")
        r = segmenta("run", URI, "--table", "bank_full", "-q", "--out", db_out, *flags)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = segmenta("run", BANK_FULL, "-q", "--out", csv_out, *flags)
        self.assertEqual(r.returncode, 0, r.stderr)
        return db_out, csv_out

    def test_bank_full_kmeans_labels_match_the_csv_run(self):
        db_out, csv_out = self.run_both("kmeans", "--method", "kmeans", "--no-report", "--no-maps")
        db_rows, csv_rows = read_csv(os.path.join(db_out, "segments.csv")), read_csv(os.path.join(csv_out, "segments.csv"))
        self.assertEqual(len(db_rows), 45211)
        self.assertEqual(db_rows, csv_rows)
        import json
        db_model = json.load(open(os.path.join(db_out, "model.json")))
        csv_model = json.load(open(os.path.join(csv_out, "model.json")))
        self.assertEqual(db_model["columns"], csv_model["columns"])
        self.assertEqual(db_model["methods"], csv_model["methods"])
        run = json.load(open(os.path.join(db_out, "run.json")))
        self.assertEqual(run["input"]["kind"], "postgresql")
        self.assertEqual(run["input"]["server"], f"127.0.0.1:{PORT}")
        self.assertEqual(run["input"]["database"], "segmenta")
        self.assertEqual(run["input"]["table"], "bank_full")
        self.assertEqual(run["input"]["rows"], "45211")
        self.assertIn("read_at", run["input"])
        self.assertNotIn("fnv1a64", run["input"])

    def test_bank_full_default_method_labels_match_the_csv_run(self):
        db_out, csv_out = self.run_both("default", "--k", "4", "--no-report", "--no-maps", "--no-explain")
        self.assertEqual(read_csv(os.path.join(db_out, "segments.csv")), read_csv(os.path.join(csv_out, "segments.csv")))

    def test_query_reads_its_rows(self):
        out = work("query")
        r = segmenta("run", URI, "--query", "SELECT age, balance, job FROM bank WHERE age < 40;", "--method", "kmeans",
                     "--k", "3", "-q", "--no-report", "--no-maps", "--no-explain", "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        n = int(psql("SELECT count(*) FROM bank WHERE age < 40").strip())
        self.assertEqual(len(read_csv(os.path.join(out, "segments.csv"))), n)
        import json
        run = json.load(open(os.path.join(out, "run.json")))
        self.assertEqual(run["input"]["query"], "SELECT age, balance, job FROM bank WHERE age < 40;")
        self.assertEqual(run["input"]["rows"], str(n))

    def test_types_from_the_database(self):
        psql("DROP TABLE IF EXISTS typed", "DROP TYPE IF EXISTS tier",
             "CREATE TYPE tier AS ENUM ('bronze', 'silver', 'gold')",
             "CREATE TABLE typed (customer_id integer PRIMARY KEY, small smallint, big bigint, amount numeric(10,2), "
             "ratio real, score double precision, name text, code varchar(5), letter char(1), active boolean, "
             "born date, seen timestamptz, level tier, zip text)",
             "INSERT INTO typed SELECT 100 - g, g % 7, g::bigint * 1000000000, (g * 1.25)::numeric(10,2), g / 3.0, "
             "CASE WHEN g % 5 = 0 THEN NULL ELSE g * 0.5 END, 'name ' || (g % 4), 'c' || (g % 3), "
             "chr(65 + g % 2), g % 2 = 0, date '2020-01-01' + g, timestamptz '2024-03-01 12:00:00+00' + g * interval '1 hour', "
             "(ARRAY['bronze','silver','gold'])[1 + g % 3]::tier, lpad((g % 6)::text, 5, '0') FROM generate_series(1, 60) g")
        out = work("typed")
        r = segmenta("run", URI, "--table", "typed", "--method", "kmeans", "--k", "2", "-q", "--no-report", "--no-maps",
                     "--no-explain", "--outliers", "none", "--types", "small=categorical", "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        import json
        metrics = json.load(open(os.path.join(out, "metrics.json")))
        types = {c["name"]: (c["type"], c["missing"]) for c in metrics["input"]["columns"]}
        self.assertEqual(types, {
            "customer_id": ("id", 0), "small": ("categorical", 0), "big": ("numeric", 0), "amount": ("numeric", 0),
            "ratio": ("numeric", 0), "score": ("numeric", 12), "name": ("categorical", 0), "code": ("categorical", 0),
            "letter": ("binary", 0), "active": ("binary", 0), "born": ("numeric", 0), "seen": ("numeric", 0),
            "level": ("categorical", 0), "zip": ("categorical", 0)})
        # The rows come in primary-key order: customer_id 40..99, and segments.csv names them.
        rows = read_csv(os.path.join(out, "segments.csv"))
        self.assertEqual([r["customer_id"] for r in rows], [str(i) for i in range(40, 100)])
        # Numbers, dates (days since 1970-01-01) and timestamps (seconds since 1970-01-01
        # UTC) against the server's own arithmetic over the same rows.
        stats = {(p["column"], p["statistic"]): float(p["value"]) for p in read_csv(os.path.join(out, "profiles.csv"))
                 if p["segment"] == "all" and p["level"] == "" and p["statistic"] in ("mean", "min", "max")}
        server = psql("SELECT avg(born - date '1970-01-01'), min(born - date '1970-01-01'), max(born - date '1970-01-01'), "
                      "avg(extract(epoch FROM seen)), min(extract(epoch FROM seen)), max(extract(epoch FROM seen)), "
                      "avg(amount), avg(score), min(big), max(big) FROM typed").strip().split("|")
        ours = [stats[("born", "mean")], stats[("born", "min")], stats[("born", "max")], stats[("seen", "mean")],
                stats[("seen", "min")], stats[("seen", "max")], stats[("amount", "mean")], stats[("score", "mean")],
                stats[("big", "min")], stats[("big", "max")]]
        for a, b in zip(ours, server):
            self.assertAlmostEqual(a, float(b), delta=1e-9 * max(1.0, abs(float(b))))
        # A numeric override of a text column parses it; a bad value is a data error (exit 3).
        r = segmenta("run", URI, "--table", "typed", "-q", "--types", "zip=numeric,name=numeric", "--out", work("typed_bad"))
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn(f"{URI}: row 1: column 'name' is declared numeric but 'name 0' is not a number", r.stderr)
        self.assertFalse(os.path.exists(work("typed_bad")))


class Sink(unittest.TestCase):
    def run_to(self, name, table, *flags, password=True):
        out = work(name)
        return out, segmenta("run", URI, "--table", "bank", "-q", "--no-report", "--no-maps", "--no-explain",
                             "--out", out, "--to", URI, "--to-table", table, *flags, password=password)

    def test_round_trip_matches_segments_csv(self):
        psql("DROP TABLE IF EXISTS rt")
        out, r = self.run_to("rt", "rt", "--method", "lca", "--k", "3")
        self.assertEqual(r.returncode, 0, r.stderr)
        files = read_csv(os.path.join(out, "segments.csv"))
        table = table_rows("rt", "row_number")
        self.assertEqual(len(table), len(files))
        self.assertEqual(list(table[0].keys()), ["row_number", "segment", "probability", "outlier", "outlier_score"])
        for f, t in zip(files, table):
            self.assertEqual(int(t["row_number"]), int(f["row"]) + 1)
            self.assertEqual(t["segment"], f["segment"])
            self.assertEqual(t["outlier"], "t" if f["outlier"] == "1" else "f")
            for col in ("probability", "outlier_score"):
                if f[col] == "":
                    self.assertEqual(t[col], "")
                else:
                    self.assertEqual(float(t[col]), float(f[col]))
        types = psql("SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) "
                     "FROM information_schema.columns WHERE table_name = 'rt'").strip()
        self.assertEqual(types, "row_number bigint, segment integer, probability double precision, "
                                "outlier boolean, outlier_score double precision")

    def test_primary_key_is_the_row_key(self):
        psql("DROP TABLE IF EXISTS keyed", "DROP TABLE IF EXISTS keyed_segments",
             "CREATE TABLE keyed AS SELECT (1000 + row_number() OVER ())::bigint * 7 AS customer, * FROM bank",
             "ALTER TABLE keyed ADD PRIMARY KEY (customer)")
        out = work("keyed")
        r = segmenta("run", URI, "--table", "keyed", "--columns", "age,job,balance", "--method", "kmeans", "--k", "3",
                     "-q", "--no-report", "--no-maps", "--no-explain", "--out", out, "--to", URI,
                     "--to-table", "keyed_segments")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = table_rows("keyed_segments", "customer")
        self.assertEqual(list(rows[0].keys()), ["customer", "segment", "outlier", "outlier_score"])
        self.assertEqual([int(x["customer"]) for x in rows], [(1000 + i) * 7 for i in range(1, 4522)])
        files = read_csv(os.path.join(out, "segments.csv"))
        self.assertEqual([x["segment"] for x in rows], [f["segment"] for f in files])
        self.assertEqual(psql("SELECT data_type FROM information_schema.columns WHERE table_name = 'keyed_segments' "
                              "AND column_name = 'customer'").strip(), "bigint")

    def test_csv_input_to_a_table_keyed_by_its_id_column(self):
        data = work("with_id.csv")
        with open(BANK) as src, open(data, "w") as dst:
            lines = src.read().splitlines()
            dst.write("customer_id;" + lines[0] + "\n")
            for i, line in enumerate(lines[1:]):
                dst.write(f"C{i:05d};{line}\n")
        psql("DROP TABLE IF EXISTS from_csv")
        out = work("from_csv")
        r = segmenta("run", data, "--method", "kmeans", "--k", "3", "-q", "--no-report", "--no-maps", "--no-explain",
                     "--out", out, "--to", URI, "--to-table", "public.from_csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        files = read_csv(os.path.join(out, "segments.csv"))
        rows = table_rows("from_csv", "customer_id")
        self.assertEqual([(t["customer_id"], t["segment"]) for t in rows],
                         [(f["customer_id"], f["segment"]) for f in files])
        self.assertEqual(psql("SELECT data_type FROM information_schema.columns WHERE table_name = 'from_csv' "
                              "AND column_name = 'customer_id'").strip(), "text")

    def test_fail_replace_append(self):
        psql("DROP TABLE IF EXISTS modes")
        _, r = self.run_to("modes1", "modes", "--method", "kmeans", "--k", "3")
        self.assertEqual(r.returncode, 0, r.stderr)
        first = fingerprint("modes")
        self.assertTrue(first.startswith("4521|"))
        # fail (the default): refused before any work, nothing written.
        out, r = self.run_to("modes2", "modes", "--method", "kmeans", "--k", "4")
        self.assertEqual(r.returncode, 4)
        self.assertEqual(r.stderr.strip().count("\n"), 0)
        self.assertIn(f"writing to {URI}: table modes exists already", r.stderr)
        self.assertFalse(os.path.exists(out))
        self.assertEqual(fingerprint("modes"), first)
        # replace: the new rows only.
        _, r = self.run_to("modes3", "modes", "--method", "kmeans", "--k", "4", "--if-exists", "replace")
        self.assertEqual(r.returncode, 0, r.stderr)
        replaced = fingerprint("modes")
        self.assertTrue(replaced.startswith("4521|"))
        self.assertNotEqual(replaced, first)
        self.assertEqual(psql("SELECT max(segment) FROM modes").strip(), "3")
        # append: the old rows and the new.
        _, r = self.run_to("modes4", "modes", "--method", "kmeans", "--k", "3", "--if-exists", "append")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(psql("SELECT count(*), count(DISTINCT row_number) FROM modes").strip(), "9042|4521")
        # a bad --if-exists is a usage error.
        _, r = self.run_to("modes5", "modes", "--if-exists", "merge")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--if-exists: expected fail, replace or append, got 'merge'", r.stderr)

    def test_late_constraint_violation_leaves_the_table_unchanged(self):
        psql("DROP TABLE IF EXISTS guarded",
             "CREATE TABLE guarded (row_number bigint CHECK (row_number < 4500), segment integer, outlier boolean, "
             "outlier_score double precision)",
             "INSERT INTO guarded VALUES (1, 0, false, 0.5), (2, 1, true, 9.5)")
        before = fingerprint("guarded")
        out, r = self.run_to("guarded", "guarded", "--method", "kmeans", "--k", "3", "--if-exists", "append")
        self.assertEqual(r.returncode, 4)
        self.assertEqual(r.stderr.strip().count("\n"), 0, r.stderr)
        self.assertIn(f"writing to {URI}: new row for relation \"guarded\" violates check constraint", r.stderr)
        self.assertFalse(os.path.exists(out))
        self.assertEqual(fingerprint("guarded"), before)

    def test_connection_killed_during_copy_leaves_the_table_unchanged(self):
        for mode in ("append", "replace"):
            with self.subTest(mode=mode):
                psql("DROP TABLE IF EXISTS killed",
                     "CREATE TABLE killed (row_number bigint, segment integer, outlier boolean, outlier_score double precision)",
                     "INSERT INTO killed VALUES (7, 1, false, 1.5)")
                before = fingerprint("killed")
                # A second session holds a lock that the sink's write waits for (COPY's for
                # append, DROP TABLE's for replace), so the write is under way when its
                # connection is ended.
                lock = "SHARE" if mode == "append" else "ACCESS SHARE"
                holder = subprocess.Popen([PSQL, URI, "-X", "-q"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE, text=True, env=client_env())
                holder.stdin.write(f"BEGIN; LOCK TABLE killed IN {lock} MODE;\n")
                holder.stdin.flush()
                out = work("killed_" + mode)
                proc = subprocess.Popen([SEGMENTA, "run", URI, "--table", "bank", "-q", "--no-report", "--no-maps",
                                         "--no-explain", "--method", "kmeans", "--k", "3", "--out", out, "--to", URI,
                                         "--to-table", "killed", "--if-exists", mode],
                                        env=client_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                statement = "COPY" if mode == "append" else "DROP TABLE"
                pid = ""
                deadline = time.time() + 120
                while not pid and time.time() < deadline and proc.poll() is None:
                    pid = psql("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                               f"AND query LIKE '{statement}%killed%'").strip()
                    time.sleep(0.1)
                self.assertTrue(pid, "the sink's write never waited for the lock")
                self.assertEqual(psql(f"SELECT pg_terminate_backend({pid})").strip(), "t")
                _, err = proc.communicate(timeout=60)
                holder.stdin.write("COMMIT;\n")
                holder.stdin.close()
                holder.wait(timeout=30)
                self.assertEqual(proc.returncode, 4, err)
                self.assertEqual(err.strip().count("\n"), 0, err)
                self.assertIn(f"writing to {URI}: terminating connection due to administrator command", err)
                self.assertFalse(os.path.exists(out))
                self.assertEqual(fingerprint("killed"), before)

    def test_score_from_a_query_into_a_table(self):
        run_out = work("score_run")
        r = segmenta("run", BANK, "--method", "kmeans", "--k", "3", "-q", "--no-report", "--no-maps", "--no-explain",
                     "--out", run_out)
        self.assertEqual(r.returncode, 0, r.stderr)
        model = os.path.join(run_out, "model.json")
        reference = work("scores.csv")
        r = segmenta("score", model, BANK, "--out", reference)
        self.assertEqual(r.returncode, 0, r.stderr)
        psql("DROP TABLE IF EXISTS scored")
        r = segmenta("score", model, URI, "--query", "SELECT * FROM bank", "--to", URI, "--to-table", "scored")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("scored 4521 rows -> table scored of " + URI, r.stdout)
        ref = read_csv(reference)
        rows = table_rows("scored", "row_number")
        self.assertEqual(len(rows), len(ref))
        for f, t in zip(ref, rows):
            self.assertEqual(int(t["row_number"]), int(f["row"]) + 1)
            self.assertEqual(t["segment"], f["segment"])
            self.assertEqual(t["outlier"], "t" if f["outlier"] == "1" else "f")
            self.assertEqual(float(t["outlier_score"]), float(f["outlier_score"]))
        # The same scores as a CSV, from the database.
        db_csv = work("scores_db.csv")
        r = segmenta("score", model, URI, "--table", "bank", "--out", db_csv)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(open(db_csv).read(), open(reference).read())


class Errors(unittest.TestCase):
    def check_error(self, args, fragment, password_uri=True):
        out = work("error_out")
        r = segmenta(*args, "--out", out, password=not password_uri)
        self.assertEqual(r.returncode, 4, r.stderr)
        line = r.stderr.strip()
        self.assertEqual(line.count("\n"), 0, line)
        self.assertTrue(line.startswith("segmenta: error: "), line)
        self.assertIn(fragment, line)
        self.assertNotIn(PASSWORD, r.stderr + r.stdout)
        self.assertFalse(os.path.exists(out))
        return line

    def test_syntax_error(self):
        self.check_error(["run", URI_WITH_PASSWORD, "--query", "SELEC age FROM bank"],
                         f"reading {URI}: syntax error at or near \"SELEC\"")

    def test_missing_table(self):
        self.check_error(["run", URI_WITH_PASSWORD, "--table", "no_such_table"],
                         f"reading {URI}: relation \"no_such_table\" does not exist")

    def test_wrong_password(self):
        wrong = f"postgresql://segmenta:not-{PASSWORD}@127.0.0.1:{PORT}/segmenta"
        line = self.check_error(["run", wrong, "--table", "bank"],
                                f"connecting to {URI}: connection to server at \"127.0.0.1\", port {PORT} failed: "
                                "FATAL: password authentication failed for user \"segmenta\"")
        self.assertNotIn("not-", line)

    def test_unreachable_server(self):
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
        s.close()
        uri = f"postgresql://segmenta:{PASSWORD}@127.0.0.1:{closed}/segmenta"
        self.check_error(["run", uri, "--table", "bank"],
                         f"connecting to postgresql://segmenta@127.0.0.1:{closed}/segmenta: connection to server at "
                         f"\"127.0.0.1\", port {closed} failed: Connection refused")

    def test_unreachable_sink_fails_before_reading(self):
        uri = f"postgresql://segmenta:{PASSWORD}@127.0.0.1:1/segmenta"
        self.check_error(["run", URI_WITH_PASSWORD, "--table", "bank", "--to", uri, "--to-table", "x"],
                         "writing to postgresql://segmenta@127.0.0.1:1/segmenta: connection to server")

    def test_source_needs_a_table_or_a_query(self):
        r = segmenta("run", URI, "-q", "--out", work("noquery"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("give the table to read (--table) or a query (--query)", r.stderr)
        r = segmenta("run", BANK, "--table", "bank", "-q", "--out", work("noquery"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("--table: only with a postgresql:// data argument", r.stderr)


# Open MPI's launcher (the Ranks group): SEGMENTA_MPIRUN, set by tests/CMakeLists.txt
# in a build with MPI.
MPIRUN = os.environ.get("SEGMENTA_MPIRUN", "")


def segmenta_ranks(ranks, *args, wrap_dir=None):
    """`mpirun -np RANKS segmenta ARGS`; with wrap_dir, each rank's exit status is
    written to wrap_dir/rc.RANK."""
    env = client_env()
    # As root Open MPI needs telling; shared memory without cross-memory attach.
    env.update({"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
                "OMPI_MCA_btl_vader_single_copy_mechanism": "none"})
    command = [SEGMENTA, *args]
    if wrap_dir:
        command = ["bash", "-c", '"${@:2}"; echo $? > "$1/rc.$OMPI_COMM_WORLD_RANK"', "_", wrap_dir, *command]
    return subprocess.run([MPIRUN, "--oversubscribe", "-np", str(ranks), *command], env=env, capture_output=True,
                          text=True, timeout=600)


def stable_metrics(path):
    """metrics.json without what differs between runs: timings, seconds and the mpi notes."""
    import json

    def walk(x):
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items() if k != "timings" and "seconds" not in k}
        return [walk(v) for v in x] if isinstance(x, list) else x
    with open(path) as f:
        m = walk(json.load(f))
    m["diagnostics"] = [d for d in m.get("diagnostics", []) if d.get("stage") != "mpi"]
    return m


@unittest.skipUnless(MPIRUN, "no MPI launcher (SEGMENTA_MPIRUN)")
class Ranks(unittest.TestCase):
    """`mpirun -np 3 segmenta run` on a database source: rank 0 alone runs the query
    and sends the typed table to the other ranks, so the query runs once (a query's
    side effects happen once, and every rank computes on the one order of rows the
    server sent) and the outputs are one process's, byte for byte."""

    # Without ORDER BY, and with a side effect per row read: the sequence counts the
    # rows the server produced for every run of the query.
    QUERY = "SELECT * FROM bank WHERE nextval('bank_reads') > 0"

    def reads(self):
        return int(psql("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM bank_reads").strip())

    def test_query_runs_once_and_the_outputs_are_one_processes(self):
        psql("DROP SEQUENCE IF EXISTS bank_reads", "CREATE SEQUENCE bank_reads",
             "DROP TABLE IF EXISTS ranks_one", "DROP TABLE IF EXISTS ranks_three")
        rows = int(psql("SELECT count(*) FROM bank").strip())
        flags = ["--query", self.QUERY, "--method", "kmeans", "--k", "3", "-q", "--no-report", "--threads", "1"]
        one, three = work("ranks_one"), work("ranks_three")
        r = segmenta("run", URI, *flags, "--out", one, "--to", URI, "--to-table", "ranks_one")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.reads(), rows)  # one process: the query ran once
        # (The password in the URI this time: no output names it.)
        r = segmenta_ranks(3, "run", URI_WITH_PASSWORD, *flags, "--out", three, "--to", URI, "--to-table", "ranks_three")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(PASSWORD, r.stdout + r.stderr)
        for name in os.listdir(three):
            with open(os.path.join(three, name), "rb") as f:
                self.assertNotIn(PASSWORD.encode(), f.read(), name)
        # Three ranks: still once, not once a rank.
        self.assertEqual(self.reads(), 2 * rows, "the query ran more than once under mpirun")
        for name in ("segments.csv", "model.json", "profiles.csv", "maps.csv"):
            with open(os.path.join(one, name), "rb") as a, open(os.path.join(three, name), "rb") as b:
                self.assertTrue(a.read() == b.read(), f"{name} differs between one process and 3 ranks")
        self.assertEqual(stable_metrics(os.path.join(one, "metrics.json")),
                         stable_metrics(os.path.join(three, "metrics.json")))
        # The database sink's table (rank 0 writes it): the same rows.
        self.assertEqual(fingerprint("ranks_three"), fingerprint("ranks_one"))
        self.assertTrue(fingerprint("ranks_one").startswith(f"{rows}|"))
        # metrics.json says how the ranks read: rank 0 the database, the others received
        # its table, in fewer bytes than 8 a cell.
        import json
        import re
        with open(os.path.join(three, "metrics.json")) as f:
            notes = [d["message"] for d in json.load(f)["diagnostics"] if d.get("stage") == "mpi" and d.get("code") == "read"]
        self.assertEqual(len(notes), 1, notes)
        self.assertIn(f"3 ranks read {URI}: rank 0 alone read the database and broadcast ", notes[0])
        broadcast = int(re.search(r"broadcast (\d+) bytes", notes[0]).group(1))
        self.assertGreater(broadcast, rows * 17, notes[0])  # at least a byte a cell of bank's 17 columns
        self.assertLess(broadcast, rows * 17 * 8, notes[0])  # fewer than 8
        received = {int(k): int(v) for k, v in re.findall(r"rank (\d+): (\d+) bytes received", notes[0])}
        self.assertEqual(sorted(received), [0, 1, 2], notes[0])
        self.assertLess(received[0], 100, notes[0])  # the agreement on the outcome only
        self.assertEqual(received[1], received[2], notes[0])
        self.assertGreaterEqual(received[1], broadcast, notes[0])
        self.assertLess(received[1], broadcast + 100, notes[0])

    def test_a_failing_query_fails_every_rank_alike(self):
        # The server fails the query after the first rows (a division by zero in row
        # order): every rank exits as one process does, with its one line, and the
        # query ran once.
        psql("DROP SEQUENCE IF EXISTS bank_reads", "CREATE SEQUENCE bank_reads")
        query = "SELECT * FROM bank WHERE nextval('bank_reads') > 0 AND 1 / (4 - age % 5) > 0"
        one_out, three_out = work("ranks_fail_one"), work("ranks_fail_three")
        one = segmenta("run", URI, "--query", query, "-q", "--out", one_out)
        once = self.reads()
        ranks_dir = work("ranks_fail_rc")
        os.makedirs(ranks_dir)
        three = segmenta_ranks(3, "run", URI, "--query", query, "-q", "--out", three_out, wrap_dir=ranks_dir)
        self.assertEqual(one.returncode, 4, one.stderr)
        self.assertIn(f"reading {URI}: division by zero", one.stderr)
        self.assertEqual(one.stderr.strip().count("\n"), 0, one.stderr)
        for rank in range(3):
            with open(os.path.join(ranks_dir, f"rc.{rank}")) as f:
                self.assertEqual(f.read().strip(), "4", f"rank {rank}")
        lines = [line for line in three.stderr.splitlines() if line.startswith("segmenta:")]
        self.assertEqual(lines, [one.stderr.strip()], three.stderr)
        self.assertGreater(once, 0)
        self.assertEqual(self.reads(), 2 * once, "the failing query ran more than once under mpirun")
        self.assertFalse(os.path.exists(one_out))
        self.assertFalse(os.path.exists(three_out))


class Secrets(unittest.TestCase):
    def test_no_password_in_any_output(self):
        psql("DROP TABLE IF EXISTS secret_segments")
        out = work("secret")
        r = segmenta("run", URI_WITH_PASSWORD + "?connect_timeout=10", "--table", "bank", "--method", "kmeans",
                     "--k", "3", "--out", out, f"--to={URI_WITH_PASSWORD}", "--to-table", "secret_segments",
                     password=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(PASSWORD, r.stdout + r.stderr)
        names = sorted(os.listdir(out))
        self.assertIn("report.html", names)
        self.assertIn("run.json", names)
        for name in names:
            with open(os.path.join(out, name), "rb") as f:
                self.assertNotIn(PASSWORD.encode(), f.read(), name)
        import json
        run = json.load(open(os.path.join(out, "run.json")))
        self.assertEqual(run["input"]["file"], f"{URI}?connect_timeout=10")
        self.assertEqual(run["parameters"]["to"], URI)
        self.assertTrue(any(URI in a for a in run["command_line"]))
        self.assertEqual(psql("SELECT count(*) FROM secret_segments").strip(), "4521")

    def test_password_from_pgpass(self):
        home = work("home")
        os.makedirs(home)
        pgpass = os.path.join(home, ".pgpass")
        with open(pgpass, "w") as f:
            f.write(f"127.0.0.1:{PORT}:segmenta:segmenta:{PASSWORD}\n")
        os.chmod(pgpass, 0o600)
        r = segmenta("run", URI, "--table", "bank", "--method", "kmeans", "--k", "2", "-q", "--no-report",
                     "--no-maps", "--no-explain", "--out", work("pgpass_out"), password=False, env_extra={"HOME": home})
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
