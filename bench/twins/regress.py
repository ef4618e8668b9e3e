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
import os
import sys

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
    beta = meta["beta"]
    twinfile.serve("regress", list(model.parameters()),
                   lambda: F.smooth_l1_loss(model(x), y, beta=beta), meta, clock)


if __name__ == "__main__":
    main()
