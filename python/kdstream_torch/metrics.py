"""The Java student's Prometheus series for a Python student (rank 0), so the dashboards and the
alert rules of deploy/prometheus/alerts.yml (KdstreamStudentStalled, KdstreamConsumerLagGrowing,
KdstreamDeadLetters) cover it: ``GET /metrics`` in the text exposition format, ``GET /healthz``.
Started by ``RunDataset(..., metrics_port=PORT)``; standard library only."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REASONS = ("truncated", "header_length", "malformed_header", "unknown_dtype", "shape_mismatch", "bad_offsets",
           "missing_tensor", "bad_metadata", "batch_size_mismatch", "manifest_mismatch", "non_finite")


class StudentMetrics:
    """Counts what a RunDataset trains and rejects; renders the series with labels run and group."""

    def __init__(self, run, group):
        self.labels = 'group="%s",run="%s"' % (group, run)
        self.steps = 0
        self.dlq = dict.fromkeys(REASONS, 0)
        self.lag = None       # callable: records between this student's position and the end of the topic
        self.progress = None  # callable: fraction of the run's batches trained

    def render(self):
        lines = ["# TYPE kdstream_student_steps_total counter",
                 "kdstream_student_steps_total{%s} %d" % (self.labels, self.steps),
                 "# TYPE kdstream_student_dlq_records_total counter"]
        lines += ['kdstream_student_dlq_records_total{%s,reason="%s"} %d' % (self.labels, r, n)
                  for r, n in self.dlq.items()]
        if self.progress is not None:
            lines += ["# TYPE kdstream_student_progress_ratio gauge",
                      "kdstream_student_progress_ratio{%s} %r" % (self.labels, float(self.progress()))]
        lag = self.lag() if self.lag is not None else None
        if lag is not None:
            lines += ["# TYPE kdstream_student_consumer_lag_records gauge",
                      "kdstream_student_consumer_lag_records{%s} %d" % (self.labels, lag)]
        return "\n".join(lines) + "\n"

    def serve(self, port, host="0.0.0.0"):
        """Serves /metrics and /healthz on a daemon thread; returns the server (``server_address`` has the port)."""
        metrics = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path.split("?")[0] == "/metrics":
                    body, kind = metrics.render().encode(), "text/plain; version=0.0.4; charset=utf-8"
                elif self.path == "/healthz":
                    body, kind = b"ok\n", "text/plain"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass  # scrapes are not news

        server = ThreadingHTTPServer((host, port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, name="kdstream-metrics", daemon=True).start()
        return server
