#!/usr/bin/env python3
"""Read kdstream feature batches from Kafka with stock tools: confluent-kafka, numpy and json.

Each record value on <run>.features is a safetensors file: an 8-byte little-endian header
length, a JSON header ({name: {dtype, shape, data_offsets}}, "__metadata__": {...}) and raw
little-endian tensor data. Nothing kdstream-specific is needed to decode it.

    /usr/bin/python3 examples/read_batch.py --bootstrap-servers 127.0.0.1:9092 --topic demo.features

prints one JSON line per batch (key, headers, metadata, each tensor's dtype, shape and values,
and "features": the teacher features as float32, dequantized when they travel as int8).
On Debian: apt-get install python3-numpy python3-confluent-kafka.

int8 features (--feature-dtype i8): teacher_features is I8 [B, d_t] and teacher_feature_scales
is F32 [B]; the features are teacher_features * teacher_feature_scales[:, None] (per-row
symmetric quantization, see README "Wire contract").
"""
import argparse
import json
import struct
import sys
import uuid

import numpy as np
from confluent_kafka import Consumer, KafkaError

# safetensors dtype -> numpy dtype (little-endian); BF16 has no numpy type and is widened below
DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
          "I8": "i1", "U8": "u1", "U16": "<u2", "U32": "<u4", "U64": "<u8", "BOOL": "?"}


def decode_safetensors(value: bytes):
    (n,) = struct.unpack("<Q", value[:8])
    header = json.loads(value[8:8 + n])
    metadata = header.pop("__metadata__", {})
    data = memoryview(value)[8 + n:]
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        raw = data[begin:end]
        if info["dtype"] == "BF16":
            # bfloat16 is the upper half of a float32
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=DTYPES[info["dtype"]])
        tensors[name] = (info["dtype"], arr.reshape(info["shape"]))
    return tensors, metadata


def teacher_features(tensors):
    """The teacher features as float32 [B, d_t]; int8 features are scaled back per row."""
    dtype, values = tensors["teacher_features"]
    if dtype == "I8":
        _, scales = tensors["teacher_feature_scales"]
        return values.astype(np.float32) * scales.astype(np.float32)[:, None]
    return values.astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bootstrap-servers", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--max-batches", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the batches")
    args = ap.parse_args()

    consumer = Consumer({
        "bootstrap.servers": args.bootstrap_servers,
        "group.id": "read-batch-" + uuid.uuid4().hex,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",  # teachers write in transactions
        "fetch.message.max.bytes": 17 * 1024 * 1024,
        "max.partition.fetch.bytes": 17 * 1024 * 1024,
    })
    consumer.subscribe([args.topic])
    seen = 0
    try:
        import time
        deadline = time.monotonic() + args.timeout
        while seen < args.max_batches and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise SystemExit("kafka error: %s" % msg.error())
            tensors, metadata = decode_safetensors(msg.value())
            print(json.dumps({
                "key": msg.key().decode() if msg.key() else None,
                "headers": {k: v.decode() for k, v in (msg.headers() or [])},
                "metadata": metadata,
                "tensors": {name: {"dtype": dt, "shape": list(a.shape), "values": a.ravel().tolist()}
                            for name, (dt, a) in tensors.items()},
                "features": teacher_features(tensors).ravel().tolist(),
            }))
            sys.stdout.flush()
            seen += 1
    finally:
        consumer.close()
    if seen < args.max_batches:
        raise SystemExit("read %d of %d batches before the timeout" % (seen, args.max_batches))


if __name__ == "__main__":
    main()
