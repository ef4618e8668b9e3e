"""PyTorch twin of `smoothl1 bench` row 6: package regress's training step.

MLP 16-64-64-4 with ReLU, smooth_l1_loss(beta, mean), clip_grad_norm_(clip), AdamW(lr,
weight_decay), one batch. Run by the bench as

    /usr/bin/python3 regress.py FILE CLOCK

FILE is the twin exchange file (twinfile.py) with meta {"threads", "lr", "weight_decay",
"beta", "clip"}, the Go side's initial weights (fc1.weight, fc1.bias, fc2.*, out.*) and the
batch (x [B, 16], y [B, 4]); CLOCK is cpu (time.process_time: this process's CPU time, all
threads) or wall. The twin prints one JSON line {"params", "loss0", "loss1"}: the parameter
count, the loss of the initial weights on the batch, and the loss on the same batch after one
training step. Then, for each line "run K" on stdin, it runs K training steps on the batch and
prints {"seconds": total}; "quit" ends it.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import twinfile  # noqa: E402


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(16, 64)
        self.fc2 = torch.nn.Linear(64, 64)
        self.out = torch.nn.Linear(64, 4)

    def forward(self, x):
        return self.out(F.relu(self.fc2(F.relu(self.fc1(x)))))


def main():
    path, clock = sys.argv[1], sys.argv[2]
    meta, arrays = twinfile.read(path)
    torch.set_num_threads(int(meta["threads"]))
    x, y = arrays.pop("x"), arrays.pop("y")
    model = MLP()
    model.load_state_dict(arrays, strict=True)
    params = list(model.parameters())
    opt = torch.optim.AdamW(params, lr=meta["lr"], weight_decay=meta["weight_decay"])
    beta, clip = meta["beta"], meta["clip"]

    def step():
        opt.zero_grad()
        loss = F.smooth_l1_loss(model(x), y, beta=beta)
        v = loss.item()  # the loss is logged every step, as smoothl1 train does
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        return v

    loss0 = step()
    with torch.no_grad():
        loss1 = F.smooth_l1_loss(model(x), y, beta=beta).item()
    hello = {"params": sum(p.numel() for p in params), "loss0": loss0, "loss1": loss1}
    print(json.dumps(hello), flush=True)
    now = time.process_time if clock == "cpu" else time.perf_counter
    for line in sys.stdin:
        cmd = line.split()
        if cmd == ["quit"]:
            return
        if len(cmd) != 2 or cmd[0] != "run":
            raise SystemExit(f"regress twin: unknown command {line!r}")
        k = int(cmd[1])
        t0 = now()
        for _ in range(k):
            step()
        print(json.dumps({"seconds": now() - t0}), flush=True)


if __name__ == "__main__":
    main()
