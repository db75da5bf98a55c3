#!/usr/bin/env python3
"""Write malformed and adversarial record values to a kdstream <run>.features topic.

A producer kdstream did not write (confluent-kafka, numpy, struct, json): every record is one kind
of hostile value, tagged with the record header `hostile.kind` so a test can match it to the DLQ
record the student writes. It also replays one valid record it finds on the topic (the same key
and value again, as a second, non-transactional writer would), which must be trained only once.

    /usr/bin/python3 examples/hostile_producer.py --bootstrap-servers 127.0.0.1:9092 \\
        --topic RUN.features --run RUN --teacher-id T --dim 96 --batch-size 200 \\
        --epochs 1 --batches-per-epoch 6 --num-classes 10 --sample-ids 0,1,2,...

prints one JSON line per record sent ({"kind": ..., "bytes": ...}) and exits non-zero if any
send failed. --repeat N sends every kind (and the replay) N times (the long loop in benchmarks/).
"""
import argparse
import json
import struct
import sys
import uuid

import numpy as np
from confluent_kafka import Consumer, Producer

MAX_VALUE = 16 * 1024 * 1024 + 64 * 1024  # kdstream's broker limit (RecordLimits)


def safetensors(entries, metadata, data, raw_header=None, header_len=None):
    """entries: name -> (dtype, shape, [begin, end]); returns the safetensors bytes."""
    if raw_header is None:
        header = dict(entries)
        header = {k: {"dtype": d, "shape": s, "data_offsets": o} for k, (d, s, o) in header.items()}
        if metadata is not None:
            header["__metadata__"] = metadata
        raw_header = json.dumps(header).encode()
    raw_header += b" " * (-len(raw_header) % 8)
    n = len(raw_header) if header_len is None else header_len
    return struct.pack("<Q", n) + raw_header + data


class Batches:
    """Valid-looking batches for the run described on the command line."""

    def __init__(self, a):
        self.a = a
        self.rng = np.random.default_rng(7)

    def meta(self, **over):
        m = {"schema_version": "1", "run_id": self.a.run, "epoch": "0", "batch_index": "0",
             "teacher_id": self.a.teacher_id, "normalization": self.a.normalization, "producer_id": "hostile"}
        m.update(over)
        return m

    def tensors(self, rows=None, dim=None, features=None, fdtype="F16", labels=None, ids=None):
        b = rows or self.a.batch_size
        d = dim or self.a.dim
        if features is None:
            f = self.rng.standard_normal((b, d)).astype(np.float32)
            features = (f - f.mean(1, keepdims=True)) / f.std(1, keepdims=True)
        np_dtype = {"F16": "<f2", "F32": "<f4"}[fdtype]
        if labels is None:
            labels = self.rng.integers(0, self.a.num_classes, b)
        if ids is None:
            ids = self.rng.choice(self.a.sample_ids, b, replace=len(self.a.sample_ids) < b)
        return [("teacher_features", fdtype, [b, d], np.asarray(features, dtype=np_dtype).tobytes()),
                ("labels", "I64", [b], np.asarray(labels, dtype="<i8").tobytes()),
                ("sample_ids", "I64", [b], np.asarray(ids, dtype="<i8").tobytes()),
                ("aug_seeds", "I64", [b], self.rng.integers(0, 2**62, b, dtype="<i8").tobytes())]

    def value(self, tensors=None, metadata=None, total=None):
        """A safetensors value; with total, its JSON header is padded with spaces to that many bytes."""
        tensors = self.tensors() if tensors is None else tensors
        entries, chunks, off = {}, [], 0
        for name, dtype, shape, raw in tensors:
            entries[name] = (dtype, shape, [off, off + len(raw)])
            chunks.append(raw)
            off += len(raw)
        data = b"".join(chunks)
        header = {k: {"dtype": d, "shape": s, "data_offsets": o} for k, (d, s, o) in entries.items()}
        header["__metadata__"] = self.meta() if metadata is None else metadata
        raw = json.dumps(header).encode()
        if total is not None:
            raw += b" " * (total - 8 - len(data) - len(raw))
        return safetensors(None, None, data, raw_header=raw, header_len=len(raw) if total else None)


def kinds(a):
    """(kind, value, extra headers) of every hostile record."""
    g = Batches(a)
    b, d = a.batch_size, a.dim
    valid = g.value()
    (hlen,) = struct.unpack("<Q", valid[:8])
    body = valid[8:]

    def header_with(entries_json, data=b"\0" * 16):
        return safetensors(None, None, data, raw_header=json.dumps(entries_json).encode())

    nan = g.rng.standard_normal((b, d)).astype(np.float32)
    nan[b // 2, d // 3] = np.nan
    inf = g.rng.standard_normal((b, d)).astype(np.float32)
    inf[0, 0] = np.inf
    row_bytes = d * 2 + 3 * 8
    rows_15mib = (15 * 1024 * 1024) // row_bytes
    rows_limit = (MAX_VALUE - 8 * 1024) // row_bytes
    t = g.tensors()
    return [
        ("empty_value", b"", []),
        ("null_value", None, []),
        ("seven_bytes", b"\x01\x02\x03\x04\x05\x06\x07", []),
        ("truncated_data", valid[:-37], []),
        ("truncated_header", valid[:8 + hlen // 2], []),
        ("header_length_beyond_value", struct.pack("<Q", len(valid) + 1000) + body, []),
        ("header_length_2_63", struct.pack("<Q", 2**63) + body, []),
        ("header_length_2_64_minus_1", struct.pack("<Q", 2**64 - 1) + body, []),
        ("header_not_json", struct.pack("<Q", 16) + b"\xff\xfe{not json!!\x00\x01\x02", []),
        ("json_nesting_bomb", safetensors(None, None, b"", raw_header=b"[" * 200_000 + b"]" * 200_000), []),
        ("metadata_nesting_bomb", safetensors(None, None, b"", raw_header=(
            b'{"__metadata__": {"x": ' + b'{"a": ' * 50_000 + b'1' + b'}' * 50_000 + b'}}')), []),
        ("header_is_array", safetensors(None, None, b"", raw_header=b"[1, 2, 3]"), []),
        ("metadata_not_string", g.value(metadata=dict(g.meta(), epoch=0)), []),
        # a last-key-wins parser would read the impostor's teacher id
        ("duplicate_json_keys", safetensors(None, None, body[hlen:], raw_header=(
            body[:hlen].rstrip()[:-1] + b', "__metadata__": {"teacher_id": "impostor"}}')), []),
        ("wrong_dtype_labels", g.value([t[0], ("labels", "F64", [b], np.zeros(b, "<f8").tobytes()), t[2], t[3]]),
         []),
        ("unknown_dtype", header_with({"teacher_features": {"dtype": "F8_E4M3", "shape": [2, 8],
                                                            "data_offsets": [0, 16]}}), []),
        ("shape_product_overflow", header_with({"teacher_features": {
            "dtype": "F32", "shape": [2**31 - 1, 2**31 - 1, 2**31 - 1, 4], "data_offsets": [0, 16]}}), []),
        ("shape_dim_2_64", header_with({"teacher_features": {"dtype": "F32", "shape": [2**64 + 1, 1],
                                                             "data_offsets": [0, 16]}}), []),
        ("shape_negative", header_with({"teacher_features": {"dtype": "F32", "shape": [-4, -1],
                                                             "data_offsets": [0, 16]}}), []),
        ("offsets_outside_buffer", header_with({"teacher_features": {"dtype": "U8", "shape": [16],
                                                                     "data_offsets": [0, 2**62]}}), []),
        ("offsets_negative", header_with({"teacher_features": {"dtype": "U8", "shape": [16],
                                                               "data_offsets": [-16, 0]}}), []),
        ("offsets_overlap", header_with({"a": {"dtype": "U8", "shape": [16], "data_offsets": [0, 16]},
                                         "b": {"dtype": "U8", "shape": [8], "data_offsets": [8, 16]}}), []),
        ("missing_tensor", g.value(t[:3]), []),
        ("row_count_mismatch", g.value([t[0], t[1], t[2], ("aug_seeds", "I64", [b - 1], t[3][3][8:])]), []),
        ("nan_features", g.value(g.tensors(features=nan)), []),
        ("inf_features", g.value(g.tensors(features=inf)), []),
        ("wrong_teacher_id", g.value(metadata=g.meta(teacher_id="someone-elses-teacher")), []),
        ("wrong_run_id", g.value(metadata=g.meta(run_id="another-run")), []),
        ("wrong_dims", g.value(g.tensors(dim=d - 1)), []),
        ("wrong_feature_dtype", g.value(g.tensors(fdtype="F32")), []),
        ("epoch_out_of_range", g.value(metadata=g.meta(epoch=str(a.epochs + 1000))), []),
        ("batch_index_max_int", g.value(metadata=g.meta(batch_index=str(2**31 - 1))), []),
        ("epoch_not_int", g.value(metadata=g.meta(epoch="99999999999")), []),
        ("schema_version_unknown", g.value(metadata=g.meta(schema_version="99")), []),
        ("label_out_of_range", g.value(g.tensors(labels=[a.num_classes] * b)), []),
        ("unknown_sample_id", g.value(g.tensors(ids=[2**60] * b)), []),
        ("inputs_in_reference_mode", g.value(t + [("inputs", "U8", [b, 3, 5, 5], b"\0" * (b * 75))]), []),
        ("valid_looking_15mib", g.value(g.tensors(rows=rows_15mib)), []),
        # so close to the broker's limit that a DLQ copy with its reason headers no longer fits
        ("value_at_size_limit", g.value(g.tensors(rows=rows_limit), total=MAX_VALUE - 200), []),
        ("hostile_kafka_headers", b"x" * 100, [("kdstream.epoch", b"\xff" * 8), ("kdstream.run", b"A" * 20_000),
                                               ("", b""), ("kdstream.teacher", None)]),
    ]


def replay_one_valid(a, producer):
    """Re-send the first record whose key looks like <epoch>/<batch>: a duplicate of a real batch."""
    c = Consumer({"bootstrap.servers": a.bootstrap_servers, "group.id": "hostile-" + uuid.uuid4().hex,
                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                  "isolation.level": "read_committed", "fetch.max.bytes": 64 * 1024 * 1024,
                  "max.partition.fetch.bytes": MAX_VALUE + 64 * 1024})
    try:
        c.subscribe([a.topic])
        for _ in range(int(a.timeout * 5)):
            m = c.poll(0.2)
            if m is None or m.error():
                continue
            key = (m.key() or b"").decode(errors="replace")
            if "/" in key and m.value():
                producer.produce(a.topic, key=m.key(), value=m.value(), headers=[("hostile.kind", b"valid_replay")])
                return key
        raise SystemExit("no valid record found on " + a.topic + " to replay")
    finally:
        c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bootstrap-servers", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--teacher-id", required=True)
    ap.add_argument("--normalization", default="layer")
    ap.add_argument("--dim", type=int, required=True)
    ap.add_argument("--batch-size", type=int, required=True)
    ap.add_argument("--epochs", type=int, required=True)
    ap.add_argument("--batches-per-epoch", type=int, required=True)
    ap.add_argument("--num-classes", type=int, default=10)
    ap.add_argument("--sample-ids", required=True,
                    help="comma-separated ids of the run's training samples, or @FILE holding them")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-replay", action="store_true")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--kafka-config", action="append", default=[], metavar="KEY=VALUE",
                    help="extra librdkafka settings, e.g. security.protocol=SASL_SSL")
    a = ap.parse_args()
    if a.sample_ids.startswith("@"):
        with open(a.sample_ids[1:]) as f:
            a.sample_ids = f.read()
    a.sample_ids = [int(x) for x in a.sample_ids.split(",")]
    extra = dict(kv.split("=", 1) for kv in a.kafka_config)

    producer = Producer(dict({"bootstrap.servers": a.bootstrap_servers, "message.max.bytes": MAX_VALUE + 64 * 1024,
                              "acks": "all", "linger.ms": 0}, **extra))
    failures = []

    def on_delivery(err, msg):
        if err is not None:
            failures.append(f"{dict(msg.headers() or []).get('hostile.kind')}: {err}")

    sent = 0
    for _ in range(a.repeat):
        for kind, value, headers in kinds(a):
            hdrs = [("hostile.kind", kind.encode())] + headers
            producer.produce(a.topic, key=f"hostile/{kind}".encode(), value=value, headers=hdrs,
                             on_delivery=on_delivery)
            producer.flush(a.timeout)
            sent += 1
            print(json.dumps({"kind": kind, "bytes": 0 if value is None else len(value)}), flush=True)
    if not a.no_replay:
        for _ in range(a.repeat):
            key = replay_one_valid(a, producer)
            print(json.dumps({"kind": "valid_replay", "key": key}), flush=True)
    if producer.flush(a.timeout) != 0:
        failures.append("records still unsent after flush")
    if failures:
        print("\n".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
