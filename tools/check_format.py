#!/usr/bin/env python3
"""Check growkit checkpoint files against format v1 (docs/FORMAT.md).

Usage: tools/check_format.py [--dump] FILE...

For each file: turn the HDF5 structure into a JSON document (attributes with
their types, datasets with shape, dtype, chunks and filters, nothing read from
tensors), validate it against schemas/growkit-checkpoint-v1.schema.json (which
references schemas/model-config-v1.schema.json for /config), check that the
schema's version equals the file's format_version, then check what a schema
cannot: the parameter table implied by the config (an independent Python
rendering of ModelConfig.parameters()), that every moment mirrors its
parameter, equal history lengths and the provenance records.

Prints one line per file (`ok FILE` or `FAIL FILE: reason`, several reasons
possible) and a closing line `format: N passed, M failed`; exits 1 if any file
failed. --dump prints each file's JSON document instead of checking it.
Needs python3 with h5py, hdf5plugin (zstd, filter 32015), jsonschema, numpy.
"""

import json
import pathlib
import sys

import h5py
import hdf5plugin  # noqa: F401  (registers the zstd filter 32015 with h5py)
import jsonschema
import numpy as np
import referencing

SCHEMAS = pathlib.Path(__file__).resolve().parent.parent / "schemas"
CHECKPOINT_SCHEMA = SCHEMAS / "growkit-checkpoint-v1.schema.json"
CONFIG_SCHEMA = SCHEMAS / "model-config-v1.schema.json"
FILTER_NAMES = {1: "deflate", 2: "shuffle", 3: "fletcher32", 4: "szip", 5: "nbit", 6: "scaleoffset", 32015: "zstd"}


def describe_attribute(owner, name):
    """{class, dtype, shape, value} of one attribute, without trusting h5py's conversions."""
    attr_id = owner.attrs.get_id(name)
    dtype, shape = attr_id.dtype, list(attr_id.shape)
    value = owner.attrs[name]
    if h5py.check_string_dtype(dtype) is not None:
        kind = "string"
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
    elif dtype == np.bool_ or (h5py.check_enum_dtype(dtype) is not None and dtype.kind == "b"):
        kind = "boolean"
    elif dtype.kind in "iu":
        kind = "integer"
    elif dtype.kind == "f":
        kind = "float"
    else:
        kind = "other"
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        value = repr(value)  # JSON has no NaN/Inf; the schema's number type then rejects it
    dtype_name = "string" if kind == "string" else str(np.dtype(dtype).name)
    return {"class": kind, "dtype": dtype_name, "shape": shape, "value": value}


def describe_dataset(dataset):
    plist = dataset.id.get_create_plist()
    filters = []
    for index in range(plist.get_nfilters()):
        code, _flags, values, _name = plist.get_filter(index)
        filters.append({"id": int(code), "name": FILTER_NAMES.get(code, str(code)), "cd_values": [int(v) for v in values]})
    dtype = "string" if h5py.check_string_dtype(dataset.dtype) is not None else str(dataset.dtype.name)
    return {
        "shape": list(dataset.shape),
        "dtype": dtype,
        "chunks": list(dataset.chunks) if dataset.chunks else None,
        "filters": filters,
        "attributes": {name: describe_attribute(dataset, name) for name in dataset.attrs},
    }


def describe_file(handle):
    document = {
        "attributes": {name: describe_attribute(handle, name) for name in handle.attrs},
        "groups": {},
        "datasets": {},
    }

    def visit(name, obj):
        path = "/" + name
        if isinstance(obj, h5py.Group):
            document["groups"][path] = {"attributes": {n: describe_attribute(obj, n) for n in obj.attrs}}
        elif isinstance(obj, h5py.Dataset):
            document["datasets"][path] = describe_dataset(obj)

    handle.visititems(visit)
    return document


def parameter_table(config):
    """name -> shape, written independently of the Swift ModelConfig.parameters()."""
    c = {key: attr["value"] for key, attr in config.items()}
    hidden, vocab = c["hidden_size"], c["vocab_size"]
    q, kv, inter = c["num_heads"] * c["head_dim"], c["num_kv_heads"] * c["head_dim"], c["intermediate_size"]
    layernorm = c["norm"] == "layernorm"
    table = {"model/embed_tokens/weight": [vocab, hidden]}
    if c["position"] == "learned":
        table["model/embed_positions/weight"] = [c["max_position"], hidden]
    for i in range(c["num_layers"]):
        p = f"model/layers/{i}/"
        for norm in ("input_layernorm", "post_attention_layernorm"):
            table[p + norm + "/weight"] = [hidden]
            if layernorm:
                table[p + norm + "/bias"] = [hidden]
        for proj, out, inp in (("q", q, hidden), ("k", kv, hidden), ("v", kv, hidden), ("o", hidden, q)):
            table[p + f"self_attn/{proj}_proj/weight"] = [out, inp]
            if c["attention_bias"]:
                table[p + f"self_attn/{proj}_proj/bias"] = [out]
        mlp = [("up", inter, hidden), ("down", hidden, inter)]
        if c["activation"] == "swiglu":
            mlp.insert(0, ("gate", inter, hidden))
        for proj, out, inp in mlp:
            table[p + f"mlp/{proj}_proj/weight"] = [out, inp]
            if c["mlp_bias"]:
                table[p + f"mlp/{proj}_proj/bias"] = [out]
    table["model/norm/weight"] = [hidden]
    if layernorm:
        table["model/norm/bias"] = [hidden]
    if not c["tie_embeddings"]:
        table["lm_head/weight"] = [vocab, hidden]
    return table


def semantic_problems(handle, document, checkpoint_schema):
    problems = []
    datasets = document["datasets"]
    config = document["groups"]["/config"]["attributes"]
    if config["num_heads"]["value"] % config["num_kv_heads"]["value"] != 0:
        problems.append("/config: num_heads is not a multiple of num_kv_heads")
        return problems
    expected = parameter_table(config)
    # A weights-only state (no /optimizer) has /params only; the schema checks the groups go together.
    weights_only = "/optimizer" not in document["groups"]
    prefixes = ("/params/",) if weights_only else ("/params/", "/optimizer/exp_avg/", "/optimizer/exp_avg_sq/")
    for prefix in prefixes:
        # The trailing slash keeps /optimizer/exp_avg_sq/... out of /optimizer/exp_avg/.
        found = {path[len(prefix):]: d["shape"] for path, d in datasets.items() if path.startswith(prefix)}
        for name in sorted(set(expected) - set(found)):
            problems.append(f"{prefix}{name} is missing")
        for name in sorted(set(found) - set(expected)):
            problems.append(f"{prefix}{name} is not in the parameter table of /config")
        for name in sorted(set(found) & set(expected)):
            if found[name] != expected[name]:
                problems.append(f"{prefix}{name} has shape {found[name]} but the config implies {expected[name]}")
    if weights_only:
        stray = sorted(path for path in datasets if path.startswith("/optimizer/"))
        if stray:
            problems.append(f"{stray[0]} is a moment dataset in a weights-only state (no /optimizer)")
    lengths = {} if weights_only else {name: datasets[f"/history/{name}"]["shape"][0] for name in ("step", "loss", "lr", "tokens")}
    if len(set(lengths.values())) > 1:
        problems.append(f"/history datasets have different lengths {lengths}")
    record_schema = {"$ref": "urn:growkit:schema:growkit-checkpoint-v1#/$defs/provenanceRecord"}
    for index, raw in enumerate(handle["/provenance/records"][...]):
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        try:
            record = json.loads(text)
        except json.JSONDecodeError as error:
            problems.append(f"/provenance/records[{index}] is not JSON ({error})")
            continue
        for error in validator_for(record_schema).iter_errors(record):
            problems.append(f"/provenance/records[{index}]: {error.message}")
    return problems


_REGISTRY = None


def registry():
    global _REGISTRY
    if _REGISTRY is None:
        resources = []
        for path in (CHECKPOINT_SCHEMA, CONFIG_SCHEMA):
            schema = json.loads(path.read_text())
            resources.append((schema["$id"], referencing.Resource.from_contents(schema)))
        _REGISTRY = referencing.Registry().with_resources(resources)
    return _REGISTRY


def validator_for(schema):
    return jsonschema.Draft202012Validator(schema, registry=registry())


def location(path):
    """A JSON-document path as `groups[/config].attributes.norm.value`."""
    parts = [f"[{p}]" if str(p).startswith("/") else f".{p}" for p in path]
    return "".join(parts).lstrip(".") or "(root)"


def check_file(path, checkpoint_schema):
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        return [f"not a readable HDF5 file ({error})"]
    with handle:
        document = describe_file(handle)
        file_version = document["attributes"].get("format_version", {}).get("value")
        schema_version = checkpoint_schema["x-growkit-format-version"]
        if file_version != schema_version:
            return [f"format_version is {file_version!r} but the schema describes version {schema_version}"]
        errors = sorted(validator_for(checkpoint_schema).iter_errors(document), key=lambda e: list(e.absolute_path))
        problems = [f"{location(error.absolute_path)}: {error.message}" for error in errors]
        if problems:
            return problems
        return semantic_problems(handle, document, checkpoint_schema)


def main(argv):
    dump = "--dump" in argv
    files = [a for a in argv if a != "--dump"]
    if not files:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    checkpoint_schema = json.loads(CHECKPOINT_SCHEMA.read_text())
    config_schema = json.loads(CONFIG_SCHEMA.read_text())
    for schema in (checkpoint_schema, config_schema):
        jsonschema.Draft202012Validator.check_schema(schema)
    if config_schema["x-growkit-format-version"] != checkpoint_schema["x-growkit-format-version"]:
        print("schemas disagree on their format version", file=sys.stderr)
        return 2
    if dump:
        for path in files:
            with h5py.File(path, "r") as handle:
                print(json.dumps(describe_file(handle), indent=1))
        return 0
    passed = failed = 0
    for path in files:
        try:
            problems = check_file(path, checkpoint_schema)
        except Exception as error:  # a file h5py can open but not describe (odd types, damaged metadata)
            problems = [f"cannot be checked ({type(error).__name__}: {error})"]
        if problems:
            failed += 1
            print(f"FAIL {path}: " + "; ".join(problems[:10]) + (f"; ... {len(problems) - 10} more" if len(problems) > 10 else ""))
        else:
            passed += 1
            print(f"ok {path}")
    print(f"format: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
