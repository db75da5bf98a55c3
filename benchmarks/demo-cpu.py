"""CPU seconds of every process a `kdstream demo` run starts, by role (broker, teacher, each student).

    /usr/bin/python3 benchmarks/demo-cpu.py [demo options...]     # e.g. --work-dir W --seeds 2

Runs `bin/kdstream demo` with the options given, reads utime + stime of each kdstream JVM from
/proc every 0.5 s while it runs (a process's last half second can be missed), and prints the mean
CPU seconds per student, the other processes' and the demo's wall time. What issue 41's first-screen
estimate (DemoCommand's STUDENT_* constants) and docs/benchmarks.md ("The demo's JVMs") rest on.
JVM options for every child (for a side-by-side run): JAVA_TOOL_OPTIONS, e.g. -XX:TieredStopAtLevel=1.
"""
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAIN = b"io.kdstream.cli.KdstreamCommand"


def roles():
    """{pid: (role, cpu seconds)} of the kdstream JVMs running now."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            if MAIN not in cmd:
                continue
            role = cmd[cmd.index(MAIN) + 1].decode()
            if role == "student":
                role += " " + cmd[cmd.index(b"--group") + 1].decode()
            stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            out[pid] = (role, (int(stat[11]) + int(stat[12])) / tick)
        except (OSError, ValueError, IndexError):
            pass  # the process ended between listing and reading
    return out


def main():
    seen = {}
    t0 = time.monotonic()
    demo = subprocess.Popen([os.path.join(ROOT, "bin", "kdstream"), "demo", *sys.argv[1:]],
                            stdout=subprocess.DEVNULL)
    while demo.poll() is None:
        seen.update(roles())
        time.sleep(0.5)
    wall = time.monotonic() - t0
    students = sorted(cpu for role, cpu in seen.values() if role.startswith("student"))
    others = {}
    for role, cpu in seen.values():
        if not role.startswith("student"):
            others[role] = others.get(role, 0) + cpu
    print(f"demo exit {demo.returncode}, wall {wall:.0f} s")
    if students:
        print(f"students: {len(students)}, CPU s mean {sum(students) / len(students):.1f}, "
              f"min {students[0]:.1f}, max {students[-1]:.1f}")
    print("others (CPU s): " + ", ".join(f"{r} {c:.1f}" for r, c in sorted(others.items())))
    sys.exit(demo.returncode)


if __name__ == "__main__":
    main()
