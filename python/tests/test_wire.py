"""Unit tests of kdstream_torch without Kafka: the record checks of the Java FeatureBatchValidator,
int8/bf16 dequantization, the reference-mode refusal, manifest expectations and the trace replay.

    PYTHONPATH=python /usr/bin/python3 -m unittest discover -s python/tests
"""
import json
import os
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from kdstream_torch import wire  # noqa: E402
from kdstream_torch.trace import StepTrace, replay  # noqa: E402

MANIFEST = {"schema_version": 1, "run_id": "r", "teacher_id": "t", "normalization": "layer", "feature_dim": 3,
            "feature_dtype": "F32", "batch_size": 4, "epochs": 2, "batches_per_epoch": 5, "logit_classes": 0,
            "num_classes": 10, "input_shape": [1, 2, 2], "input_mode": "INLINE"}
META = {"schema_version": "1", "run_id": "r", "epoch": "1", "batch_index": "4", "teacher_id": "t",
        "normalization": "layer", "producer_id": "p"}


def record(features=None, meta=None, **extra):
    b = 2
    t = {"teacher_features": np.arange(b * 3, dtype=np.float32).reshape(b, 3) if features is None else features,
         "labels": np.array([1, 9], dtype=np.int64), "sample_ids": np.arange(b, dtype=np.int64),
         "aug_seeds": np.arange(b, dtype=np.int64), "inputs": np.zeros((b, 1, 2, 2), dtype=np.uint8)}
    t.update(extra)
    return wire.encode(t, dict(META, **(meta or {})))


def reason(value, manifest=MANIFEST):
    try:
        tensors, metadata = wire.decode(value)
        wire.validate(manifest, tensors, metadata)
    except wire.InvalidBatch as e:
        return e.reason, e.detail
    return None


class WireTest(unittest.TestCase):

    def test_a_valid_record_passes_and_gives_its_key(self):
        tensors, metadata = wire.decode(record())
        self.assertEqual(wire.validate(MANIFEST, tensors, metadata), (1, 4))

    def test_rejections_carry_the_java_reason_and_field(self):
        self.assertEqual(reason(b"\x01\x02")[0], "truncated")
        self.assertEqual(reason(record(meta={"teacher_id": "other"})),
                         ("manifest_mismatch", "teacher_id is other, manifest says t"))
        self.assertEqual(reason(record(meta={"epoch": "2"}))[1], "epoch is 2, manifest says < 2")
        self.assertEqual(reason(record(meta={"schema_version": "2"}))[0], "bad_metadata")
        nan = np.array([[0, np.nan, 0], [0, 0, 0]], dtype=np.float32)
        self.assertEqual(reason(record(features=nan))[0], "non_finite")
        self.assertEqual(reason(record(labels=np.array([1, 10], dtype=np.int64)))[1],
                         "labels is 10, manifest says in 0..9")
        self.assertEqual(reason(record(sample_ids=np.arange(3, dtype=np.int64)))[0], "batch_size_mismatch")
        self.assertEqual(reason(record(inputs=np.zeros((2, 1, 3, 2), dtype=np.uint8)))[0], "manifest_mismatch")

    def test_int8_and_bf16_features_are_dequantized(self):
        q = np.array([[127, -64, 0], [1, 2, 3]], dtype=np.int8)
        scales = np.array([0.5, 2.0], dtype=np.float32)
        tensors, _ = wire.decode(record(features=q, teacher_feature_scales=scales))
        np.testing.assert_array_equal(wire.features_f32(tensors), q.astype(np.float32) * scales[:, None])
        bad = dict(MANIFEST, feature_dtype="I8")
        self.assertEqual(reason(record(features=q, teacher_feature_scales=np.array([0.5, 0], np.float32)), bad)[0],
                         "non_finite")
        # bfloat16: the upper half of a float32
        f = np.array([[1.5, -2.0, 3.25], [0, 1, 2]], dtype=np.float32)
        t = {"teacher_features": (f.view(np.uint32) >> 16).astype(np.uint16),
             "labels": np.array([1, 9], dtype=np.int64)}
        patched = wire.encode(t, META, dtypes={"teacher_features": "BF16"})
        tensors, _ = wire.decode(patched)
        np.testing.assert_array_equal(wire.features_f32(tensors), f)

    def test_reference_mode_and_mismatching_manifests_are_refused_in_one_line(self):
        with self.assertRaises(wire.ReferenceModeRefused) as e:
            wire.parse_manifest("r", json.dumps(dict(MANIFEST, input_mode="REFERENCE")))
        self.assertNotIn("\n", str(e.exception))
        with self.assertRaises(wire.ManifestMismatch) as e:
            wire.require_matches(MANIFEST, {"feature_dim": 3, "num_classes": 100})
        self.assertIn("num_classes: manifest has 10, configured 100", str(e.exception))
        self.assertNotIn("feature_dim", str(e.exception))


class InputsTest(unittest.TestCase):

    def test_inputs_are_normalized_bit_for_bit_as_the_java_table(self):
        import torch
        from kdstream_torch.dataset import normalize_inputs
        mean = np.array([0.485, 0.456, 0.406], np.float32)
        std = np.array([0.229, 0.224, 0.225], np.float32)
        v = np.arange(256, dtype=np.float32)[None, :]
        # InputNormalization: table[c][v] = (v / 255f - mean[c]) / std[c], in float
        table = (v / np.float32(255) - mean[:, None]) / std[:, None]
        pixels = np.tile(np.arange(256, dtype=np.uint8), (3, 1)).reshape(1, 3, 16, 16)
        out = normalize_inputs(pixels, torch.from_numpy(mean).view(1, 3, 1, 1), torch.from_numpy(std).view(1, 3, 1, 1))
        np.testing.assert_array_equal(out.numpy().reshape(3, 256).view(np.uint32), table.view(np.uint32))


class TraceTest(unittest.TestCase):

    def test_a_restart_rolls_back_the_steps_after_its_checkpoint(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "trace")
            t = StepTrace(path)
            t.start(0)
            for s in range(1, 4):
                t.step(s, 0, s - 1)
            t.checkpoint(2)
            os.write(t.fd, b"step 4 0 0")  # a kill mid-line
            t.close()
            t = StepTrace(path)  # the next process ends the torn line first
            t.start(2)
            t.step(3, 0, 2)
            t.close()
            surviving, starts, rolled_back = replay(path)
            self.assertEqual([s[0] for s in surviving], [1, 2, 3])
            self.assertEqual((starts, rolled_back), (2, 1))


if __name__ == "__main__":
    unittest.main()
