#!/usr/bin/python3
"""Two teachers, one student, with paired intervals: the study behind docs/study/two-teachers.

    /usr/bin/python3 docs/study/two-teachers/run.py --teacher-a DIR --teacher-b DIR [options]

Run from the repository after `mvn -B -q -DskipTests package` (the standard library only). It starts
kdstream's broker, one teacher-producer per teacher (two runs of the SAME batch plan: subset, seed,
batch size, streamed epochs, augmentation; each its own run, as on two machines) and then the
students, `--parallel` at a time, seed-major (a study cut short still has paired seeds):

    VkD-A    one run, the demo's VkD student (DemoCommand, Experiment.demo)
    VkD-B    the same student on the other run
    VkD-AB   the same student joining both runs (`--run A --run B`, equal teacher weights 1/2)
    logit-AB logit distillation only from both runs (--alpha 0, --logits-from mean, gamma 1, T = 2:
             the study's validated logit setting, docs/study/vit-pool-crop-80ep)
    alone    (optional, --rows) the student without a teacher, on run A's batches

Every row has the demo's student arguments (vit-pool, lr 0.004, evaluations, replay), so the rows
differ only in the teachers (and, for logit-AB, in what is distilled). Writes report.json (the
study's format, so `docs/study/pool.py ROW BASE report.json ...` pools it with later seeds) and
report.md (commands, per-seed numbers, paired 95% t intervals, wall and CPU times) to --out after
every student. --stop-at HH:MM (UTC) starts no student after that time. --quick: a tiny setting
to test the driver (300 images, 2 epochs, 2 seeds).
"""
import argparse
import datetime
import importlib.util
import json
import math
import os
import pathlib
import shlex
import shutil
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[3]
KDSTREAM = ROOT / "bin" / "kdstream"
POOL = importlib.util.spec_from_file_location("pool", ROOT / "docs" / "study" / "pool.py")
pool = importlib.util.module_from_spec(POOL)
POOL.loader.exec_module(pool)

DEMO_LR = "0.004"  # Experiment.DEMO_LR
VKD_ARGS = ["--projection", "matrix_exp", "--student-norm", "none", "--alpha", "4", "--gamma", "0", "--lr", DEMO_LR]
ALONE_ARGS = ["--alpha", "0", "--gamma", "0", "--lr", DEMO_LR]
LOGIT_ARGS = ["--alpha", "0", "--gamma", "1", "--temperature", "2", "--logits-from", "mean", "--lr", DEMO_LR]


def service(heap):
    """The environment Orchestrator.service gives its children on shared cores: one libtorch thread
    (OpenMP's default, one per core, spins against the other students), serial GC, a bounded heap."""
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    env["KDSTREAM_JAVA_OPTS"] = ("-Xmx%s -XX:+UseSerialGC %s" % (heap, env.get("KDSTREAM_JAVA_OPTS", ""))).strip()
    return env


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def say(fmt, *args):
    print("[two-teachers %s] %s" % (now().strftime("%H:%M:%S"), fmt % args), flush=True)


def start_broker(work):
    broker = subprocess.Popen([str(KDSTREAM), "broker", "--port", "0", "--clean", "--data-dir", str(work / "kafka")],
                              stdout=subprocess.PIPE, stderr=open(work / "broker.log", "w"), text=True,
                              env=service("384m"))
    for line in broker.stdout:  # the broker prints its address once it serves
        if line.startswith("bootstrap.servers="):
            threading.Thread(target=broker.stdout.read, daemon=True).start()  # never let a full pipe block it
            return broker, line.strip().split("=", 1)[1]
    broker.kill()
    sys.exit("two-teachers: the broker did not start; see " + str(work / "broker.log"))


def card(teacher):
    c = json.loads((pathlib.Path(teacher) / "model.json").read_text())
    return {"arch": c.get("arch"), "d_t": c.get("featureDim"), "test_accuracy": c.get("testAccuracy"),
            "id": c.get("parametersSha256"), "dir": str(teacher)}


class Student:
    """One student: its row, seed, command and outcome."""

    def __init__(self, row, seed, group, args):
        self.row, self.seed, self.group, self.args = row, seed, group, args
        self.accuracy = self.trained = self.total = self.exit_code = None
        self.wall = self.cpu = self.last = None
        self.process = None

    def run(self, log):
        t0 = time.monotonic()
        p = self.process = subprocess.Popen([str(KDSTREAM), "student", *self.args], stdout=subprocess.PIPE,
                                            stderr=open(log, "w"), text=True, env=service("1g"))
        out = p.stdout.read()
        _, status, usage = os.wait4(p.pid, 0)  # the JVM's own CPU time: the machine may be shared
        p.returncode = os.waitstatus_to_exitcode(status)
        self.wall, self.cpu = time.monotonic() - t0, usage.ru_utime + usage.ru_stime
        self.exit_code = p.returncode
        pathlib.Path(str(log)[:-len(".log")] + ".events").write_text(out)  # the progress events: loss curves
        events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        results = [e for e in events if e.get("event") == "result"]
        progress = [e for e in events if e.get("event") == "progress" and "ce" in e][-5:]
        if progress:  # the training losses at the end (ce, alpha-weighted feature, kd), last 5 reports
            self.last = {k: sum(float(e.get(k) or 0) for e in progress) / len(progress)
                         for k in ("loss", "ce", "feature", "kd")}
        if results:
            r = results[-1]
            self.accuracy, self.trained, self.total = r.get("accuracy"), r.get("trained"), r.get("total")
        if self.exit_code == 0 and (self.accuracy is None or self.trained != self.total):
            self.exit_code = -1  # finished without training every batch: not a result

    def summary(self):
        return {"group": self.group, "variant": self.row, "seed": self.seed, "args": self.args,
                "accuracy": self.accuracy, "trained": self.trained, "total": self.total,
                "exit_code": self.exit_code, "wall_seconds": self.wall, "cpu_seconds": self.cpu,
                "final_losses": self.last}


def interval(diffs):
    if len(diffs) < 2:
        return sum(diffs) / len(diffs), None, None
    mean, _, half = pool.paired_interval(diffs)
    return mean, mean - half, mean + half


def accuracies(students, row):
    return {s.seed: 100 * s.accuracy for s in students if s.row == row and s.exit_code == 0}


def paired(students, row, base):
    a, b = accuracies(students, row), accuracies(students, base)
    seeds = sorted(s for s in a if s in b)
    return seeds, [a[s] - b[s] for s in seeds]


def write_report(out, setup, rows, students, teachers_wall):
    out.mkdir(parents=True, exist_ok=True)
    singles = [r for r in rows if r.startswith("VkD-") and r != "VkD-AB"]
    means = {r: sum(v) / len(v) for r in rows if (v := list(accuracies(students, r).values()))}
    best = max((r for r in singles if r in means), key=lambda r: means[r], default=None)
    comparisons = [("VkD-AB", r) for r in singles] + [("logit-AB", "VkD-AB")] + [("logit-AB", r) for r in singles] \
        + [(r, "alone") for r in singles + ["VkD-AB", "logit-AB"]]
    diffs = []
    for row, base in comparisons:
        if row in rows and base in rows:
            seeds, d = paired(students, row, base)
            if d:
                m, lo, hi = interval(d)
                diffs.append({"row": row, "base": base, "seeds": seeds, "differences": d, "mean": m, "low": lo,
                              "high": hi, "better_single": base == best})
    report = {"setup": setup, "cells": [{"arch": "vit-pool", "train_limit": setup["train_limit"], "rows": {
        r: {"args": next((s.args for s in students if s.row == r), []),
            "students": [s.summary() for s in students if s.row == r]} for r in rows}}],
              "paired_differences": diffs, "better_single": best, "teachers_wall_seconds": teachers_wall}
    (out / "report.json").write_text(json.dumps(report, indent=1) + "\n")

    md = ["# Two teachers, one student (issue 39)", "", "## Setup", ""]
    md += ["- %s: %s" % (k, v) for k, v in setup.items() if k not in ("commands", "teachers", "rows")]
    for name, t in setup["teachers"].items():
        md.append("- teacher %s: %s, d_t = %s, test accuracy %.2f%%, id %s (%s)"
                  % (name, t["arch"], t["d_t"], 100 * (t["test_accuracy"] or 0), t["id"], t["dir"]))
    md += ["", "Commands (SEED is each seed; `$BS` the broker's address):", "", "```"] + setup["commands"] + ["```", ""]
    md += ["## Test accuracy (whole 10,000-image test split)", "",
           "| row | teachers | seeds | mean ± std | per seed | wall / student | CPU / student |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        done = [s for s in students if s.row == r and s.exit_code == 0]
        acc = [100 * s.accuracy for s in done]
        if not acc:
            md.append("| %s | %s | 0 | | | | |" % (r, setup["rows"][r]))
            continue
        m = sum(acc) / len(acc)
        sd = math.sqrt(sum((a - m) ** 2 for a in acc) / (len(acc) - 1)) if len(acc) > 1 else 0
        md.append("| %s | %s | %d | %.2f%% ± %.2f | %s | %.0f s | %.0f s |" % (
            r, setup["rows"][r], len(acc), m, sd, " ".join("s%d %.2f" % (s.seed, 100 * s.accuracy) for s in done),
            sum(s.wall for s in done) / len(done), sum(s.cpu for s in done) / len(done)))
    failed = [s for s in students if s.exit_code != 0]
    if failed:
        md += ["", "Failed: " + ", ".join("%s s%d (exit %s)" % (s.row, s.seed, s.exit_code) for s in failed)]
    md += ["", "## Paired differences (points, mean and 95% Student-t interval over the seeds)", "",
           "| difference | pairs | per seed | mean [95% interval] |", "|---|---|---|---|"]
    for d in diffs:
        ci = "%+.2f [%+.2f, %+.2f]" % (d["mean"], d["low"], d["high"]) if d["low"] is not None else "%+.2f" % d["mean"]
        md.append("| %s − %s%s | %d | %s | %s |" % (d["row"], d["base"], " (the better single)" if d["better_single"] else "",
                                                   len(d["seeds"]), " ".join("%+.2f" % x for x in d["differences"]), ci))
    md += ["", "(the better single: the single-teacher row with the higher mean test accuracy here)"]
    md += ["", "Pool with later seeds: `/usr/bin/python3 docs/study/pool.py VkD-AB %s %s/report.json OTHER/report.json`"
           % (best or "VkD-A", out.relative_to(ROOT) if out.is_relative_to(ROOT) else out), ""]
    (out / "report.md").write_text("\n".join(md) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teacher-a", required=True, help="teacher directory of run A (inline inputs)")
    ap.add_argument("--teacher-b", required=True, help="teacher directory of run B")
    ap.add_argument("--seeds", default="1-5", help="seeds, e.g. 1-5 or 6,7 (default: 1-5)")
    ap.add_argument("--rows", default="VkD-A,VkD-B,VkD-AB,logit-AB")
    ap.add_argument("--train-limit", type=int, default=1000)
    ap.add_argument("--stream-epochs", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=40, help="student epochs, a multiple of --stream-epochs")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--augment", default="crop+flip")
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--b-inputs", default="inline", choices=["inline", "reference"],
                    help="how run B carries its inputs (default inline: every row reads the same pixels)")
    ap.add_argument("--stop-at", help="HH:MM UTC: start no student after it")
    ap.add_argument("--quick", action="store_true", help="tiny setting to test the driver")
    ap.add_argument("--work-dir", default="kdstream-work/two-teachers-study")
    ap.add_argument("--out", default="kdstream-work/two-teachers-study/report")
    a = ap.parse_args()
    if a.quick:
        a.train_limit, a.stream_epochs, a.epochs, a.batch_size = 300, 1, 2, 100
        a.seeds = "1-2" if a.seeds == "1-5" else a.seeds
    if a.epochs % a.stream_epochs:
        sys.exit("two-teachers: --epochs %d must be a multiple of --stream-epochs %d" % (a.epochs, a.stream_epochs))
    seeds = []
    for part in a.seeds.split(","):
        lo, _, hi = part.partition("-")
        seeds += list(range(int(lo), int(hi or lo) + 1))
    rows = a.rows.split(",")
    if unknown := [r for r in rows if r not in ("VkD-A", "VkD-B", "VkD-AB", "logit-AB", "alone")]:
        sys.exit("two-teachers: unknown row(s) %s" % unknown)
    stop_at = None
    if a.stop_at:
        h, m = map(int, a.stop_at.split(":"))
        stop_at = now().replace(hour=h, minute=m, second=0, microsecond=0)
    work, out = pathlib.Path(a.work_dir).resolve(), pathlib.Path(a.out).resolve()
    shutil.rmtree(work / "kafka", ignore_errors=True)
    (work / "logs").mkdir(parents=True, exist_ok=True)
    teachers = {"A": card(a.teacher_a), "B": card(a.teacher_b)}
    run = {"A": "tt-a-" + teachers["A"]["arch"], "B": "tt-b-" + teachers["B"]["arch"]}
    batches = -(-a.train_limit // a.batch_size)
    steps = a.epochs * batches

    t_start = time.monotonic()
    load0 = os.getloadavg()
    broker, bs = start_broker(work)
    procs, students = {}, []
    try:
        # the same batch plan in both runs; the demo's teacher arguments (TeacherLaunch)
        plan = ["--train-limit", str(a.train_limit), "--seed", "7", "--epochs", str(a.stream_epochs),
                "--batch-size", str(a.batch_size), "--norm", "layer", "--feature-dtype", "f16",
                "--augment", a.augment, "--logits", "--progress-interval", "0"]
        teacher_cmds = {}
        for k, teacher in (("A", a.teacher_a), ("B", a.teacher_b)):
            inputs = "inline" if k == "A" else a.b_inputs
            teacher_cmds[k] = ["teacher", "--run", run[k], "--teacher", str(teacher), "--bootstrap-servers", "$BS",
                               *plan, "--inputs", inputs]
            argv = [x if x != "$BS" else bs for x in teacher_cmds[k]]
            procs[k] = (time.monotonic(), subprocess.Popen([str(KDSTREAM), *argv], stdout=subprocess.DEVNULL,
                                                           stderr=open(work / "logs" / ("teacher-%s.log" % k), "w"),
                                                           env=service("1g")))
        teachers_wall = {}

        def common(seed, group):
            return ["--group", group, "--bootstrap-servers", bs, "--arch", "vit-pool", "--seed", str(seed),
                    "--checkpoint-dir", str(work / "checkpoints" / group), "--checkpoint-every", "1000",
                    "--progress-interval", "2", "--idle-timeout", "PT10M",
                    "--replay-epochs", str(a.epochs // a.stream_epochs - 1)] + (
                ["--eval-every", "0"] if a.quick else ["--eval-every", str(max(1, steps // 4)), "--eval-limit", "2000"])

        objective = {"VkD-A": (["--run", run["A"]], VKD_ARGS), "VkD-B": (["--run", run["B"]], VKD_ARGS),
                     "VkD-AB": (["--run", run["A"], "--run", run["B"]], VKD_ARGS),
                     "logit-AB": (["--run", run["A"], "--run", run["B"]], LOGIT_ARGS),
                     "alone": (["--run", run["A"]], ALONE_ARGS)}
        for seed in seeds:  # seed-major: a study cut short still has paired seeds
            for r in rows:
                group = "%s-s%d" % (r.lower(), seed)
                students.append(Student(r, seed, group, objective[r][0] + common(seed, group) + objective[r][1]))
        shown = lambda args: " ".join(shlex.quote(x) for x in args).replace(bs, "$BS").replace(str(work), "$WORK")
        setup = {
            "command": "docs/study/two-teachers/run.py " + " ".join(shlex.quote(x) for x in sys.argv[1:]),
            "date": now().isoformat(timespec="seconds"),
            "machine": "%d cores; load average %.1f/%.1f/%.1f at start" % (os.cpu_count(), *load0),
            "train_limit": a.train_limit,
            "data": "Fashion-MNIST, %d training images (stratified, seed 7), %s, batches of %d, %d streamed epochs "
                    "replayed to %d student epochs (%d steps)" % (a.train_limit, a.augment, a.batch_size,
                                                                    a.stream_epochs, a.epochs, steps),
            "runs": "%s (teacher A, inline inputs) and %s (teacher B, %s inputs): the same batch plan; "
                    "layer-normalized f16 features and logits" % (run["A"], run["B"],
                                                                   "inline" if a.b_inputs == "inline" else "reference"),
            "student": "vit-pool, AdamW lr %s, cosine schedule, the demo's VkD arguments (%s); seeds %s, the same in "
                       "every row (paired); %d at a time" % (DEMO_LR, " ".join(VKD_ARGS), a.seeds, a.parallel),
            "teachers": teachers,
            "rows": {"VkD-A": "A (%s)" % teachers["A"]["arch"], "VkD-B": "B (%s)" % teachers["B"]["arch"],
                     "VkD-AB": "A + B, feature weights 1/2", "logit-AB": "A + B, mean of softened probabilities",
                     "alone": "none (cross-entropy only)"},
            "commands": ["bin/kdstream broker --port 0 --clean --data-dir $WORK/kafka"]
                        + ["bin/kdstream " + " ".join(x if x == "$BS" else shlex.quote(x) for x in teacher_cmds[k])
                           for k in ("A", "B")]
                        + ["bin/kdstream student " + shown(s.args).replace("-s%d" % seeds[0], "-sSEED").replace(
                            "--seed %d" % seeds[0], "--seed SEED") for s in students if s.seed == seeds[0]],
        }
        say("broker %s; teachers A=%s (%s) B=%s (%s); %d students, %d at a time", bs, run["A"], teachers["A"]["arch"],
            run["B"], teachers["B"]["arch"], len(students), a.parallel)

        pending, running, finished = list(students), [], []
        lock = threading.Lock()

        def train(s):
            s.run(work / "logs" / (s.group + ".log"))
            with lock:
                finished.append(s)
                say("%s seed %d: %s, %.0f s wall, %.0f s CPU", s.row, s.seed,
                    "%.2f%%" % (100 * s.accuracy) if s.exit_code == 0 else "exit %s" % s.exit_code, s.wall, s.cpu)
                write_report(out, setup, rows, [x for x in students if x in finished], teachers_wall)

        while pending or running:
            for k, (t0, p) in procs.items():
                if k not in teachers_wall and p.poll() is not None:
                    teachers_wall[k] = round(time.monotonic() - t0, 1)
                    say("teacher %s exited %d after %.0f s", k, p.returncode, teachers_wall[k])
            running = [t for t in running if t.is_alive()]
            if pending and stop_at and now() >= stop_at:
                say("%s UTC: not starting the %d students left", a.stop_at, len(pending))
                pending = []
            while pending and len(running) < a.parallel:
                s = pending.pop(0)
                t = threading.Thread(target=train, args=(s,))
                t.start()
                running.append(t)
            time.sleep(1)
        setup["wall_time"] = "%.1f min (broker start to the last student)" % ((time.monotonic() - t_start) / 60)
        setup["machine"] += "; %.1f/%.1f/%.1f at the end" % os.getloadavg()
        write_report(out, setup, rows, finished, teachers_wall)
        say("report: %s", out / "report.md")
        return 0 if all(s.exit_code == 0 for s in finished) and finished else 1
    finally:
        for s in students:  # an interrupted driver leaves no student behind
            if s.process is not None and s.process.returncode is None:
                s.process.terminate()
        for _, p in procs.values():
            if p.poll() is None:
                p.terminate()
        for _, p in procs.values():
            p.wait()
        broker.terminate()
        broker.wait()


if __name__ == "__main__":
    sys.exit(main())
