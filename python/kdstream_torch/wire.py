"""The wire contract (DESIGN.md §4) in Python: safetensors records, the run manifest, and the
checks the Java student makes before it trains on a batch (io.kdstream.manifest.FeatureBatchValidator).
"""
import json
import struct

import numpy as np

SCHEMA_VERSION = 1

# safetensors dtype -> numpy dtype (little-endian); BF16 has no numpy type and is widened
DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
          "I8": "i1", "U8": "u1", "U16": "<u2", "U32": "<u4", "U64": "<u8", "BOOL": "?"}
SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
         "U16": 2, "U32": 4, "U64": 8, "BOOL": 1}
TENSORS = {"teacher_features", "teacher_logits", "labels", "sample_ids", "aug_seeds", "inputs",
           "teacher_feature_scales",
           "input_checksums", "crop_boxes", "flips"}  # reference mode's sample views (codec.SampleViews)
MAX_HEADER = 100 * 1024 * 1024


class InvalidBatch(Exception):
    """A record that cannot be trained on; ``reason`` is the Java student's tag (the DLQ header)."""

    def __init__(self, reason, message):
        super().__init__("%s: %s" % (reason, message))
        self.reason = reason
        self.detail = message


class ManifestMismatch(Exception):
    """The run's manifest differs from what the caller expects; names every differing field."""


class ReferenceModeRefused(Exception):
    """Reference-mode runs are not served (yet): the student cannot prove it rebuilds the teacher's pixels."""


def decode(value):
    """A record value -> ({name: (dtype, ndarray)}, metadata). Raises InvalidBatch as the Java codec does."""
    if value is None or len(value) < 8:
        raise InvalidBatch("truncated", "value shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", value[:8])
    if n > MAX_HEADER or 8 + n > len(value):
        raise InvalidBatch("header_length", "header length %d exceeds the value (%d bytes)" % (n, len(value)))
    try:
        header = json.loads(bytes(value[8:8 + n]))
    except ValueError as e:
        raise InvalidBatch("malformed_header", "header is not JSON: %s" % e)
    if not isinstance(header, dict):
        raise InvalidBatch("malformed_header", "header is not a JSON object")
    metadata = header.pop("__metadata__", {}) or {}
    data = memoryview(value)[8 + n:]
    tensors = {}
    for name, info in header.items():
        if name not in TENSORS:
            raise InvalidBatch("malformed_header", "unexpected tensor '%s'" % name)
        try:
            dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise InvalidBatch("malformed_header", "tensor '%s' lacks dtype, shape or data_offsets" % name)
        if dtype not in SIZES:
            raise InvalidBatch("unknown_dtype", "tensor '%s' has dtype %s" % (name, dtype))
        if not (0 <= begin <= end <= len(data)):
            raise InvalidBatch("bad_offsets", "tensor '%s' offsets %d..%d outside the data" % (name, begin, end))
        if int(np.prod(shape, dtype=np.int64)) * SIZES[dtype] != end - begin:
            raise InvalidBatch("shape_mismatch", "tensor '%s' %s %s does not fill %d bytes"
                               % (name, dtype, shape, end - begin))
        raw = data[begin:end]
        if dtype == "BF16":  # bfloat16 is the upper half of a float32
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=DTYPES[dtype])
        tensors[name] = (dtype, arr.reshape(shape))
    return tensors, metadata


def _meta_int(metadata, key):
    if key not in metadata:
        raise InvalidBatch("missing_tensor", "metadata '%s' is missing" % key)
    try:
        return int(metadata[key])
    except (TypeError, ValueError):
        raise InvalidBatch("bad_metadata", "metadata '%s' is not an integer: '%s'" % (key, metadata[key]))


def _require(tensors, name, rank, dtypes):
    if name not in tensors:
        raise InvalidBatch("missing_tensor", "required tensor '%s' is missing" % name)
    dtype, arr = tensors[name]
    if dtype not in dtypes:
        raise InvalidBatch("unknown_dtype", "tensor '%s' has dtype %s, expected one of %s"
                           % (name, dtype, sorted(dtypes)))
    if arr.ndim != rank:
        raise InvalidBatch("shape_mismatch", "tensor '%s' has shape %s, expected rank %d"
                           % (name, list(arr.shape), rank))
    return dtype, arr


def _mismatch_if(differs, field, expected, actual):
    if differs:
        raise InvalidBatch("manifest_mismatch", "%s is %s, manifest says %s" % (field, actual, expected))


def features_f32(tensors):
    """Teacher features as float32 [B, d_t]; int8 rows are scaled back (q · scale, as the Java student)."""
    dtype, values = tensors["teacher_features"]
    if dtype == "I8":
        return values.astype(np.float32) * tensors["teacher_feature_scales"][1].astype(np.float32)[:, None]
    return values.astype(np.float32)


def validate(manifest, tensors, metadata):
    """The Java student's decode-time and manifest checks, in its order; raises InvalidBatch."""
    schema = _meta_int(metadata, "schema_version")
    if schema != SCHEMA_VERSION:
        raise InvalidBatch("bad_metadata", "schema_version %d is not supported (this build reads %d)"
                           % (schema, SCHEMA_VERSION))
    epoch, batch = _meta_int(metadata, "epoch"), _meta_int(metadata, "batch_index")
    if epoch < 0 or batch < 0:
        raise InvalidBatch("bad_metadata", "negative epoch or batch index %d/%d" % (epoch, batch))
    for key in ("run_id", "teacher_id", "normalization", "producer_id"):
        if key not in metadata:
            raise InvalidBatch("missing_tensor", "metadata '%s' is missing" % key)
    fdtype, feats = _require(tensors, "teacher_features", 2, {"F32", "F16", "BF16", "I8"})
    b = feats.shape[0]
    for name in ("labels", "sample_ids", "aug_seeds"):
        _require(tensors, name, 1, {"I64"})
    optional = {"teacher_logits": (2, {"F32", "F16", "BF16"}), "inputs": (4, {"U8", "F32"}),
                "teacher_feature_scales": (1, {"F32"})}
    for name, (rank, dtypes) in optional.items():
        if name in tensors:
            _require(tensors, name, rank, dtypes)
    if fdtype == "I8" and "teacher_feature_scales" not in tensors:
        raise InvalidBatch("missing_tensor", "I8 teacher_features need tensor 'teacher_feature_scales'")
    if fdtype != "I8" and "teacher_feature_scales" in tensors:
        raise InvalidBatch("malformed_header", "'teacher_feature_scales' only goes with I8 teacher_features, not "
                           + fdtype)
    for name, (_, arr) in tensors.items():
        if arr.shape[0] != b:
            raise InvalidBatch("batch_size_mismatch", "tensor '%s' has %d rows but teacher_features has %d"
                               % (name, arr.shape[0], b))
    m = manifest
    _mismatch_if(metadata["run_id"] != m["run_id"], "run_id", m["run_id"], metadata["run_id"])
    _mismatch_if(metadata["teacher_id"] != m["teacher_id"], "teacher_id", m["teacher_id"], metadata["teacher_id"])
    _mismatch_if(metadata["normalization"] != m["normalization"], "normalization", m["normalization"],
                 metadata["normalization"])
    sha = (m.get("whitening") or {}).get("sha256")
    if sha is not None:
        _mismatch_if(metadata.get("whitening_sha256") != sha, "whitening_sha256", sha,
                     metadata.get("whitening_sha256", "absent"))
    _mismatch_if(feats.shape[1] != m["feature_dim"], "feature_dim", m["feature_dim"], feats.shape[1])
    _mismatch_if(fdtype != m["feature_dtype"], "feature_dtype", m["feature_dtype"], fdtype)
    _mismatch_if(b > m["batch_size"] or b == 0, "batch_size", "1..%d" % m["batch_size"], b)
    _mismatch_if(epoch >= m["epochs"], "epoch", "< %d" % m["epochs"], epoch)
    _mismatch_if(batch >= m["batches_per_epoch"], "batch_index", "< %d" % m["batches_per_epoch"], batch)
    logits = tensors["teacher_logits"][1].shape[1] if "teacher_logits" in tensors else 0
    _mismatch_if(logits != m["logit_classes"], "logit_classes", m["logit_classes"], logits)
    _mismatch_if("inputs" not in tensors, "inputs", "present (inline mode)", "absent")
    shape = list(tensors["inputs"][1].shape[1:])
    _mismatch_if(shape != list(m["input_shape"]), "input_shape", m["input_shape"], [b] + shape)
    labels = tensors["labels"][1]
    bad = labels[(labels < 0) | (labels >= m["num_classes"])]
    _mismatch_if(bad.size > 0, "labels", "in 0..%d" % (m["num_classes"] - 1), bad[:1].tolist()[0] if bad.size else 0)
    key = "%d/%d" % (epoch, batch)
    if not np.isfinite(feats.astype(np.float32) if fdtype != "I8" else np.zeros(1)).all():
        raise InvalidBatch("non_finite", "teacher_features of %s contain NaN or infinity" % key)
    if fdtype == "I8":
        scales = tensors["teacher_feature_scales"][1]
        ok = np.isfinite(scales) & (scales > 0)
        if not ok.all():
            row = int(np.argmin(ok))
            raise InvalidBatch("non_finite", "teacher_feature_scales of %s has %s at row %d (must be positive and "
                                             "finite)" % (key, scales[row], row))
    if "teacher_logits" in tensors and not np.isfinite(tensors["teacher_logits"][1].astype(np.float32)).all():
        raise InvalidBatch("non_finite", "teacher_logits of %s contain NaN or infinity" % key)
    return epoch, batch


def parse_manifest(run, value):
    """The manifest record's JSON as a dict; refuses what this package cannot train on safely."""
    m = json.loads(value)
    if m.get("schema_version") != SCHEMA_VERSION:
        raise ManifestMismatch("run %s: manifest schema_version is %s, this kdstream_torch reads %d"
                               % (run, m.get("schema_version"), SCHEMA_VERSION))
    if str(m.get("input_mode")).lower() != "inline":
        # DESIGN.md §5: a reference-mode student rebuilds each view from the dataset (crop_boxes,
        # flips) and proves it equal to the teacher's (input_checksums); kdstream_torch does not
        # rebuild views yet, and training on inputs it cannot prove equal is what §5 forbids
        raise ReferenceModeRefused(
            "run %s is a reference-mode run (input_mode %s): kdstream_torch does not rebuild and verify "
            "reference-mode inputs yet; publish the run with --inputs inline, or train it with kdstream student"
            % (run, m.get("input_mode")))
    return m


def require_matches(manifest, expected):
    """Raises ManifestMismatch naming every field of ``expected`` the manifest disagrees with."""
    diffs = ["%s: manifest has %s, configured %s" % (k, manifest.get(k, "absent"), v)
             for k, v in expected.items() if manifest.get(k) != v]
    if diffs:
        raise ManifestMismatch("run %s: the manifest does not match: %s" % (manifest["run_id"], "; ".join(diffs)))


def encode(tensors, metadata=None, dtypes=None):
    """{name: ndarray} -> safetensors bytes (little-endian; the numpy dtypes above). ``dtypes`` names a
    tensor's dtype where numpy has none: {"teacher_features": "BF16"} for uint16 upper halves."""
    names = {np.dtype(v).str: k for k, v in DTYPES.items()}
    header, offset, chunks = {}, 0, []
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        dtype = (dtypes or {}).get(name) or names[arr.dtype.newbyteorder("<").str]
        header[name] = {"dtype": dtype, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        chunks.append(raw)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(chunks)
