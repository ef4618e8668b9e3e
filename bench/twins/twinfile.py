"""Reader of the twin exchange file written by bench.WriteArrays (see bench/twinfile.go), and
the twins' side of the bench's protocol (serve).

Layout, little-endian: 8 bytes magic "SL1TWIN1", uint32 header length H, H bytes of JSON
{"meta": {...}, "arrays": [{"name", "shape", "offset"}, ...]}, then the float32 data.
"""
import json
import struct
import sys
import time

import torch

MAGIC = b"SL1TWIN1"


def read(path):
    """Returns (meta, {name: float32 tensor}) with the arrays in the file's order."""
    with open(path, "rb") as f:
        b = f.read()
    if len(b) < 12 or b[:8] != MAGIC:
        raise ValueError(f"{path}: not a twin exchange file")
    (hl,) = struct.unpack("<I", b[8:12])
    if 12 + hl > len(b):
        raise ValueError(f"{path}: truncated header")
    h = json.loads(b[12 : 12 + hl].decode("utf-8"))
    data = b[12 + hl :]
    arrays = {}
    end = 0
    for a in h["arrays"]:
        n = 1
        for d in a["shape"]:
            n *= d
        off = a["offset"]
        if off != end or off + 4 * n > len(data):
            raise ValueError(f"{path}: array {a['name']} out of place or truncated")
        t = torch.frombuffer(bytearray(data[off : off + 4 * n]), dtype=torch.float32)
        arrays[a["name"]] = t.reshape(a["shape"]).clone()
        end = off + 4 * n
    if end != len(data):
        raise ValueError(f"{path}: {len(data) - end} trailing bytes")
    return h["meta"], arrays


def peak_rss():
    """This process's peak resident memory in bytes (VmHWM; 0 without /proc). Not
    resource.getrusage's ru_maxrss: Linux folds the parent's memory shared between fork and
    exec into it."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def serve(name, params, loss_of, meta, clock, modes=None, hello=None):
    """Trains params by AdamW(meta lr, weight_decay) on loss_of() with clip_grad_norm_(meta
    clip), as smoothl1 train does, and answers the bench: first one JSON line {"params",
    "loss0", "loss1"} (the parameter count, the loss before the first step, the loss after it)
    with the entries of hello added, then for each line "run K" on stdin it runs K steps and
    prints {"seconds": total, "peak_rss_bytes": VmHWM} (seconds on CLOCK: cpu:
    time.process_time, this process's CPU time; wall: time.perf_counter); "run K MODE" runs K
    steps of modes[MODE] (another loss_of) instead; "quit" ends."""
    opt = torch.optim.AdamW(params, lr=meta["lr"], weight_decay=meta["weight_decay"])
    clip = meta["clip"]
    modes = dict(modes or {})

    def step(loss_fn):
        opt.zero_grad()
        loss = loss_fn()
        v = loss.item()  # the loss is logged every step, as smoothl1 train does
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        return v

    loss0 = step(loss_of)
    with torch.no_grad():
        loss1 = loss_of().item()
    first = {"params": sum(p.numel() for p in params), "loss0": loss0, "loss1": loss1}
    first.update(hello or {})
    print(json.dumps(first), flush=True)
    now = time.process_time if clock == "cpu" else time.perf_counter
    for line in sys.stdin:
        cmd = line.split()
        if cmd == ["quit"]:
            return
        if len(cmd) not in (2, 3) or cmd[0] != "run" or (len(cmd) == 3 and cmd[2] not in modes):
            raise SystemExit(f"{name} twin: unknown command {line!r}")
        fn = modes[cmd[2]] if len(cmd) == 3 else loss_of
        k = int(cmd[1])
        t0 = now()
        for _ in range(k):
            step(fn)
        print(json.dumps({"seconds": now() - t0, "peak_rss_bytes": peak_rss()}), flush=True)
