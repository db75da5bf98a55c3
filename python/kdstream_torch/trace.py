"""The step trace of ``kdstream student --trace`` (io.kdstream.student.StepTrace), written by a
Python student so the same audit (``StepTrace.replay``: each batch trained once in the surviving
history) applies. Lines, one write(2) each, so they survive a kill -9; fsynced at checkpoints:

    start <step>                         a process starts from the checkpoint of this step (0 = fresh)
    step <step> <pass> <epoch> <batch>   an applied optimizer step
    checkpoint <step>                    a checkpoint of this step reached the disk
"""
import os


class StepTrace:
    def __init__(self, path):
        self.path = path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if os.fstat(self.fd).st_size > 0:
            with open(path, "rb") as f:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    self._write("\n")  # a kill mid-write left half a line: end it

    def _write(self, line):
        os.write(self.fd, line.encode("ascii"))

    def start(self, step):
        self._write("start %d\n" % step)

    def step(self, step, epoch, batch, pass_=0):
        self._write("step %d %d %d %d\n" % (step, pass_, epoch, batch))

    def checkpoint(self, step):
        os.fsync(self.fd)  # the checkpoint's steps are on the disk before it is reported
        self._write("checkpoint %d\n" % step)

    def close(self):
        os.fsync(self.fd)
        os.close(self.fd)


def replay(path):
    """The surviving history of a trace, by the rules of the Java StepTrace.replay: a ``start S`` line
    rolls back every earlier step numbered above S (those steps died with their process, and no
    saved model holds them). Returns (surviving [(step, pass, epoch, batch)], starts, rolled_back)."""
    history, starts, rolled_back = [], 0, 0
    with open(path, "r", encoding="ascii", errors="replace") as f:
        for line in f:
            p = line.split()
            try:
                if p and p[0] == "start":
                    s = int(p[1])
                    kept = [x for x in history if x[0] <= s]
                    rolled_back += len(history) - len(kept)
                    history, starts = kept, starts + 1
                elif p and p[0] == "step" and len(p) == 5:
                    history.append(tuple(int(v) for v in p[1:]))
            except ValueError:
                pass  # a line torn by a kill
    return history, starts, rolled_back
