"""A kdstream run as a ``torch.utils.data.IterableDataset`` (DESIGN.md §4, §6).

One Kafka record is one training batch: the teacher normalized its features over exactly that
batch (``batch`` and ``whiten`` normalizations depend on its composition), so a global training
step is one record, never a mix of records. With ``world_size`` ranks every rank reads every
record and keeps its slice of the samples (``numpy.array_split``: contiguous, sizes differ by at
most one). So a run trains the same steps, on the same samples, on any number of ranks; a
2-rank and a 1-rank job end with the same parameters when the loss is normalized by the global
batch (``kdstream_torch.vkd.VkdLoss`` does that) and the student has no per-rank batch
statistics (use ``nn.SyncBatchNorm``). Reading every record on every rank costs the record's
bytes once per rank; a teacher batch is small next to what a rank computes on it.

Within one partition all read_committed readers see the same records in the same order, so on a
one-partition run (the default) every rank simply takes the partition's next record. On a run
with several partitions, which interleave differently in each consumer, rank 0 announces each
step's (partition, offset) on a gloo group and the other ranks take that record from their own
consumer.
"""
import collections
import dataclasses
import os
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.distributed as dist
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from . import wire
from .metrics import StudentMetrics

RECORD_BYTES = 17 * 1024 * 1024  # DESIGN.md §4: records up to 16 MB
COMMIT_PREFIX = "kdstream-committed-ms="


class BatchesGone(Exception):
    """Records this student needs were deleted from the topic (retention, deleteRecords)."""


class IdleTimeout(Exception):
    """No batch arrived within ``idle_timeout`` seconds (the Java student's exit code 3)."""


@dataclass
class Batch:
    """This rank's slice of one teacher batch. Tensors are CPU tensors; ``size`` is the global batch."""
    inputs: torch.Tensor            # [n, C, H, W] float32, normalized with the run's input mean/std
    labels: torch.Tensor            # [n] int64
    sample_ids: torch.Tensor        # [n] int64
    features: torch.Tensor          # [n, d_t] float32 (dequantized from F16/BF16/I8)
    logits: Optional[torch.Tensor]  # [n, C] float32, None when the run publishes none
    epoch: int
    batch_index: int
    size: int                       # samples in the whole batch (over all ranks)
    partition: int
    offset: int

    @property
    def key(self):
        return "%d/%d" % (self.epoch, self.batch_index)

    def to(self, device):
        """This batch with its tensors on ``device`` (non_blocking from pinned memory)."""
        move = lambda t: None if t is None else t.to(device, non_blocking=True)  # noqa: E731
        return dataclasses.replace(self, inputs=move(self.inputs), labels=move(self.labels),
                                   sample_ids=move(self.sample_ids), features=move(self.features),
                                   logits=move(self.logits))


def read_manifest(run, bootstrap_servers, kafka_config=None, timeout=60.0):
    """The run's manifest (the earliest record keyed ``<run>/...`` on ``<run>.manifest``), waiting up to ``timeout``."""
    topic = run + ".manifest"
    c = Consumer(_client_config(bootstrap_servers, kafka_config, {
        "group.id": "kdstream-torch-manifest-" + uuid.uuid4().hex, "enable.auto.commit": False,
        "auto.offset.reset": "earliest", "allow.auto.create.topics": False}))
    deadline = time.monotonic() + timeout
    try:
        while True:
            md = c.list_topics(topic, timeout=max(1.0, min(10.0, deadline - time.monotonic())))
            t = md.topics.get(topic)
            if t is not None and t.error is None and t.partitions:
                lo, hi = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
                if hi > lo:
                    c.assign([TopicPartition(topic, 0, lo)])
                    while True:
                        msg = c.poll(1.0)
                        if msg is not None and not msg.error():
                            key = (msg.key() or b"").decode()
                            if key.startswith(run + "/") and msg.value() is not None:
                                return wire.parse_manifest(run, msg.value())
                            if msg.offset() + 1 >= hi:
                                break
                        if time.monotonic() > deadline:
                            break
            if time.monotonic() > deadline:
                raise TimeoutError("no manifest for run '%s' on %s after %.0f s: start a teacher for this run first"
                                   % (run, bootstrap_servers, timeout))
            time.sleep(0.5)
    finally:
        c.close()


def _client_config(bootstrap_servers, extra, base):
    cfg = {"bootstrap.servers": bootstrap_servers}
    cfg.update(base)
    cfg.update(extra or {})
    return cfg


def _stamped(topic, partition, offset):
    """A commit carrying its time as the Java student's do (`kdstream runs` shows it); confluent-kafka
    before 2.1 (Debian's 1.7) has no commit metadata, and `kdstream runs` shows the time as unknown."""
    try:
        return TopicPartition(topic, partition, offset, metadata=COMMIT_PREFIX + str(int(time.time() * 1000)))
    except TypeError:
        return TopicPartition(topic, partition, offset)


def normalize_inputs(pixels, mean, std):
    """uint8 pixels [n, C, H, W] -> float32 ``(x/255 - mean)/std`` (mean, std: [1, C, 1, 1]), one float32
    operation at a time: bit for bit the Java student's InputNormalization table."""
    return torch.from_numpy(pixels.copy()).float().div_(255).sub_(mean).div_(std)  # copy: record bytes are read-only


def _rank_and_world(rank, world_size):
    if rank is not None and world_size is not None:
        return rank, world_size
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


class RunDataset(torch.utils.data.IterableDataset):
    """The batches of a kdstream run, in order, exactly once per epoch across restarts.

    Iterate it in the training process (``DataLoader(ds, batch_size=None)`` with no workers, or
    directly): a background thread fetches, validates and decodes ahead. Save ``state_dict()`` in
    the training checkpoint *after* the optimizer step of the last batch you took: it holds the
    next offset of every partition and the batches trained. ``load_state_dict()`` before iterating
    resumes after exactly those batches. ``commit()`` after a checkpoint publishes the offsets to
    the run's consumer group ``group`` (what the teachers' flow control and the lag alerts read).

    Refused at construction with one line: a manifest that differs from ``expect`` (a dict of
    manifest fields, e.g. ``{"feature_dim": 192}``), a reference-mode run. A record that fails
    validation goes to ``<run>.dlq`` with its reason (rank 0 sends it) and is skipped; records
    deleted before they were read raise ``BatchesGone``. With ``metrics_port`` rank 0 serves the
    Java student's Prometheus series (steps, progress, consumer lag, DLQ records) for the alerts.
    """

    def __init__(self, run, bootstrap_servers, group, expect=None, kafka_config=None, rank=None, world_size=None,
                 idle_timeout=300.0, manifest_timeout=60.0, prefetch=8, input_mean=None, input_std=None,
                 metrics_port=None):
        super().__init__()
        self.run, self.group, self.bootstrap_servers = run, group, bootstrap_servers
        self.topic = run + ".features"
        self.kafka_config = dict(kafka_config or {})
        self.idle_timeout, self.prefetch = idle_timeout, prefetch
        self.manifest = read_manifest(run, bootstrap_servers, self.kafka_config, manifest_timeout)
        wire.require_matches(self.manifest, expect or {})
        self.rank, self.world_size = _rank_and_world(rank, world_size)
        m = self.manifest
        mean = input_mean if input_mean is not None else m.get("input_mean")
        std = input_std if input_std is not None else m.get("input_std")
        if mean is None or std is None:
            raise wire.ManifestMismatch("run %s records no input_mean/input_std: pass input_mean= and input_std= "
                                        "(what the teacher normalized with)" % run)
        c = m["input_shape"][0]
        # (x/255 - mean)/std, one float32 operation at a time: bit for bit the Java student's table
        # (InputNormalization), and 9x faster than looking the table up (64 x 3 x 224 x 224: 135 ms)
        self._mean = torch.tensor(mean, dtype=torch.float32).view(1, c, 1, 1)
        self._std = torch.tensor(std, dtype=torch.float32).view(1, c, 1, 1)
        self.total = m["epochs"] * m["batches_per_epoch"]
        self._next = {}        # partition -> next offset after what was yielded
        self._trained = 0      # bit (epoch * batches_per_epoch + batch) set once trained
        self._count = 0        # bits set in _trained
        self._rejected = 0
        self._consumer = None
        self._dlq = None
        self.metrics = StudentMetrics(run, group)
        self.metrics.progress = lambda: self.trained / self.total
        self.metrics.lag = self._lag
        self.metrics_server = None
        if metrics_port is not None and self.rank == 0:
            self.metrics_server = self.metrics.serve(metrics_port)

    # ---- state -------------------------------------------------------------------------
    def state_dict(self):
        return {"run": self.run, "offsets": {int(p): int(o) for p, o in self._next.items()},
                "trained": format(self._trained, "x"), "rejected": self._rejected}

    def load_state_dict(self, state):
        if state.get("run") != self.run:
            raise ValueError("the checkpoint's data state is of run %s, not %s" % (state.get("run"), self.run))
        self._next = {int(p): int(o) for p, o in state["offsets"].items()}
        self._trained = int(state["trained"], 16)
        self._count = bin(self._trained).count("1")
        self._rejected = int(state.get("rejected", 0))

    @property
    def trained(self):
        return self._count

    def done(self):
        return self.trained + self._rejected >= self.total

    def _lag(self):
        """Records from this student's position to the end of the topic, from the running consumer's
        last fetch (no request per scrape); None between iterations."""
        c = self._consumer
        if c is None:
            return None
        lag = 0
        for p in range(getattr(self, "_partitions", 0)):
            try:
                _, hi = c.get_watermark_offsets(TopicPartition(self.topic, p), cached=True)
            except Exception:  # noqa: BLE001 - closed meanwhile
                return None
            if hi >= 0:
                lag += max(0, hi - self._next.get(p, 0))
        return lag

    def commit(self, state=None):
        """Commits ``state``'s offsets (default: the current ones) to the group; rank 0 only, others no-op."""
        if self.rank != 0:
            return
        offsets = (state or self.state_dict())["offsets"]
        if not offsets:
            return
        c = self._consumer or self._commit_client()
        c.commit(offsets=[_stamped(self.topic, p, o) for p, o in offsets.items()], asynchronous=False)
        if c is not self._consumer:
            c.close()

    def _commit_client(self):
        return Consumer(_client_config(self.bootstrap_servers, self.kafka_config, {
            "group.id": self.group, "enable.auto.commit": False}))

    # ---- iteration ---------------------------------------------------------------------
    def __iter__(self):
        if torch.utils.data.get_worker_info() is not None:
            raise RuntimeError("iterate RunDataset in the training process (DataLoader num_workers=0): its "
                               "offsets must be those of the batches trained")
        if self.world_size > 1 and not dist.is_initialized():
            raise RuntimeError("world_size %d but torch.distributed is not initialized" % self.world_size)
        fetch = _Fetcher(self)
        self._consumer, self._partitions = fetch.consumer, fetch.partitions
        # one partition: every rank's next record is the partition's next, nothing to agree on
        group = dist.new_group(backend="gloo") if self.world_size > 1 and fetch.partitions > 1 else None
        try:
            while not self.done():
                p, off = self._next_position(fetch, group)
                item = fetch.take(p, off, self.idle_timeout)
                self._next[p] = off + 1
                kind = item[0]
                if kind == "rejected":
                    self._rejected += 1
                    self.metrics.dlq[item[2].reason] = self.metrics.dlq.get(item[2].reason, 0) + 1
                    if self.rank == 0:
                        self._send_dlq(item[1], item[2])
                    continue
                batch = item[1]
                bit = 1 << (batch.epoch * self.manifest["batches_per_epoch"] + batch.batch_index)
                if self._trained & bit:
                    continue  # a redelivered batch: trained once already
                self._trained |= bit
                self._count += 1
                self.metrics.steps += 1
                yield batch
        finally:
            fetch.close()
            self._consumer = None
            if self._dlq is not None:
                self._dlq.flush(30)

    def _next_position(self, fetch, group):
        if group is None:
            return fetch.next_arrival(self.idle_timeout)
        code = [0, 0]
        if self.rank == 0:
            try:
                code = list(fetch.next_arrival(self.idle_timeout))
            except BatchesGone:
                code = [-2, 0]
            except IdleTimeout:
                code = [-3, 0]
        t = torch.tensor(code, dtype=torch.int64)
        dist.broadcast(t, 0, group=group)  # every rank stops with rank 0 too
        code = t.tolist()
        if code[0] == -2:
            raise BatchesGone(fetch.failure_message() or "rank 0 found batches of run %s gone" % self.run)
        if code[0] == -3:
            raise IdleTimeout(self._idle_message())
        return code[0], code[1]

    def _idle_message(self):
        return "run %s: no batch for %.0f s (%d of %d trained)" % (self.run, self.idle_timeout, self.trained,
                                                                  self.total)

    def _send_dlq(self, msg, error):
        if self._dlq is None:
            self._dlq = Producer(_client_config(self.bootstrap_servers, self.kafka_config, {
                "message.max.bytes": RECORD_BYTES, "enable.idempotence": True}))
        headers = list(msg.headers() or []) + [
            ("kdstream.dlq.reason", error.reason.encode()),
            ("kdstream.dlq.detail", str(error)[:2000].encode()),
            ("kdstream.dlq.source.topic", msg.topic().encode()),
            ("kdstream.dlq.source.partition", str(msg.partition()).encode()),
            ("kdstream.dlq.source.offset", str(msg.offset()).encode()),
            ("kdstream.dlq.consumer", self.group.encode())]
        failed = []
        self._dlq.produce(self.run + ".dlq", key=msg.key(), value=msg.value(), headers=headers,
                          on_delivery=lambda err, _m: failed.append(err) if err else None)
        if self._dlq.flush(30) or failed:  # acknowledged before the offset can be committed past it
            raise RuntimeError("cannot write %s-%d@%d to %s.dlq: %s" % (msg.topic(), msg.partition(), msg.offset(),
                                                                       self.run, failed or "timed out"))

    def _slice(self, tensors, metadata, partition, offset):
        epoch, index = wire.validate(self.manifest, tensors, metadata)
        b = tensors["teacher_features"][1].shape[0]
        bounds = np.array_split(np.arange(b), self.world_size)[self.rank]
        lo, hi = (int(bounds[0]), int(bounds[-1]) + 1) if bounds.size else (0, 0)
        feats = wire.features_f32({k: (d, a[lo:hi]) for k, (d, a) in tensors.items()
                                   if k in ("teacher_features", "teacher_feature_scales")})
        dt, x = tensors["inputs"]
        x = x[lo:hi]
        if dt == "F32":  # pixels in [0, 1], rounded back to uint8 as the Java student does
            if not ((x >= 0) & (x <= 1)).all():
                raise wire.InvalidBatch("manifest_mismatch", "float32 inputs must be pixels in [0, 1]")
            x = np.floor(x * np.float32(255) + np.float32(0.5)).astype(np.uint8)
        # n = 0 on a rank past the end of a short batch: an empty batch, zero gradients
        inputs = normalize_inputs(x, self._mean, self._std)
        logits = tensors.get("teacher_logits")
        return Batch(inputs=inputs,
                     labels=torch.from_numpy(tensors["labels"][1][lo:hi].copy()),
                     sample_ids=torch.from_numpy(tensors["sample_ids"][1][lo:hi].copy()),
                     features=torch.from_numpy(np.ascontiguousarray(feats)),
                     logits=None if logits is None else torch.from_numpy(logits[1][lo:hi].astype(np.float32)),
                     epoch=epoch, batch_index=index, size=b, partition=partition, offset=offset)


class _Fetcher:
    """The consumer and its thread: polls, validates and decodes this rank's slice ahead of training
    into per-partition queues, up to ``prefetch`` records in all. No pause()/resume(): librdkafka
    drops what it read ahead for a paused partition and resumed ~500 ms later, which halved the
    steps/s of a Kafka-fed loop (docs/benchmarks.md)."""

    def __init__(self, ds):
        self.ds = ds
        self.cond = threading.Condition()
        self.queues = collections.defaultdict(collections.deque)
        self.arrivals = collections.deque()
        self.failure = None
        self.closing = False
        self.consumer = Consumer(_client_config(ds.bootstrap_servers, ds.kafka_config, {
            "group.id": ds.group, "enable.auto.commit": False, "isolation.level": "read_committed",
            # positions come from the state; out of range means deleted records, never a silent jump
            "auto.offset.reset": "error", "allow.auto.create.topics": False,
            "fetch.message.max.bytes": RECORD_BYTES, "max.partition.fetch.bytes": RECORD_BYTES,
            "fetch.wait.max.ms": 50}))
        md = self.consumer.list_topics(ds.topic, timeout=60)
        t = md.topics.get(ds.topic)
        if t is None or t.error is not None or not t.partitions:
            self.consumer.close()
            raise RuntimeError("topic %s does not exist: has a teacher started run %s?" % (ds.topic, ds.run))
        assign = []
        for p in sorted(t.partitions):
            need = ds._next.get(p, 0)
            lo, _ = self.consumer.get_watermark_offsets(TopicPartition(ds.topic, p), timeout=30)
            if lo > need:
                self.consumer.close()
                raise BatchesGone(self._gone(p, need, lo))
            assign.append(TopicPartition(ds.topic, p, need))
        self.consumer.assign(assign)
        self.partitions = len(assign)
        self.waiting = 0
        self.thread = threading.Thread(target=self._loop, name="kdstream-fetch", daemon=True)
        self.thread.start()

    def _gone(self, p, need, lo):
        return ("run %s: feature batches were deleted before this student read them: %s-%d offsets %d..%d are "
                "gone (the log start offset moved to %d; retention or deleteRecords removed them, they cannot "
                "arrive)" % (self.ds.run, self.ds.topic, p, need, lo - 1, lo))

    def _loop(self):
        try:
            while not self.closing:
                with self.cond:  # read ahead up to `prefetch` records, or on while a rank waits for one
                    while (not self.closing and self.waiting == 0
                           and sum(len(q) for q in self.queues.values()) >= self.ds.prefetch):
                        self.cond.wait(0.1)
                msg = self.consumer.poll(0.05)
                if msg is None:
                    continue
                if msg.error():
                    err = msg.error()
                    if err.code() == KafkaError._PARTITION_EOF:
                        continue
                    if err.code() == KafkaError._AUTO_OFFSET_RESET:
                        p = msg.partition()
                        lo, _ = self.consumer.get_watermark_offsets(TopicPartition(self.ds.topic, p), timeout=30)
                        raise BatchesGone(self._gone(p, self.ds._next.get(p, 0), lo))
                    if err.fatal():
                        raise RuntimeError("reading %s failed: %s" % (self.ds.topic, err))
                    continue  # transient: librdkafka retries
                item = self._decode(msg)
                with self.cond:
                    self.queues[msg.partition()].append((msg.offset(), item))
                    self.arrivals.append(msg.partition())
                    self.cond.notify_all()
        except BaseException as e:  # handed to the training thread
            with self.cond:
                self.failure = e
                self.cond.notify_all()

    def _decode(self, msg):
        try:
            tensors, metadata = wire.decode(msg.value())
            return ("batch", self.ds._slice(tensors, metadata, msg.partition(), msg.offset()))
        except wire.InvalidBatch as e:
            return ("rejected", msg, e)

    def failure_message(self):
        return str(self.failure) if self.failure is not None else None

    def _raise(self):
        if isinstance(self.failure, BatchesGone):
            raise self.failure
        raise RuntimeError("reading %s failed: %s" % (self.ds.topic, self.failure)) from self.failure

    def next_arrival(self, timeout):
        """(partition, offset) of the record that arrived first and is not yet taken."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not self.arrivals:
                if self.failure is not None:
                    self._raise()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise IdleTimeout(self.ds._idle_message())
                self.cond.wait(min(left, 1.0))
            p = self.arrivals[0]
            return p, self.queues[p][0][0]

    def take(self, partition, offset, timeout):
        """The record at (partition, offset), which must be next in that partition."""
        deadline = time.monotonic() + timeout
        with self.cond:
            q = self.queues[partition]
            self.waiting += 1  # the read-ahead bound must not keep this partition's record out
            self.cond.notify_all()
            try:
                while not q:
                    if self.failure is not None:
                        self._raise()
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise IdleTimeout("run %s: no record at %s-%d@%d after %.0f s"
                                          % (self.ds.run, self.ds.topic, partition, offset, timeout))
                    self.cond.wait(min(left, 1.0))
            finally:
                self.waiting -= 1
            got, item = q.popleft()
            self.arrivals.remove(partition)
            if got != offset:
                raise RuntimeError("rank %d: %s-%d has offset %d next, rank 0 announced %d (ranks disagree on "
                                   "the committed records)" % (self.ds.rank, self.ds.topic, partition, got, offset))
            self.cond.notify_all()
            return item

    def close(self):
        self.closing = True
        self.thread.join(10)
        self.consumer.close()
