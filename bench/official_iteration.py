#!/usr/bin/python3
"""The official side of `ips bench --parts vs-pytorch`.

Times training iterations of the official PyTorch implementation of IPS (github.com/benbergner/ips), imported
unchanged from the checkout given with --official: the network (architecture/ips_net.py), its batch helpers and loss
(training/iterative.py) and its learning-rate schedule (utils/utils.py). The loop below is the body of the official
`train_one_epoch` with a clock around each phase: the official function times iterations with CUDA events, which do
not exist on a CPU, and cannot split an iteration into selection, forward+backward and optimiser.

The data comes from `ips bench`: an .npy with the patches (or feature rows) of a few images, written by the C# side,
which trains on the same pixels. Prints one line: IPS_OFFICIAL {json}.

Run with Debian's PyTorch (apt-get install python3-torch python3-torchvision python3-sklearn python3-yaml).
"""

import argparse
import json
import os
import sys
import time


def status_kb(field):
    """A field of /proc/self/status in KiB (VmRSS: resident now, VmHWM: peak resident)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def loaded_blas():
    """The BLAS library this process mapped: Debian's PyTorch calls whichever libblas.so.3 the system provides."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "/" in line}
    for path in sorted(paths):
        name = os.path.basename(path)
        if name.startswith(("libblas", "libopenblas", "libmkl_rt", "libblis")):
            return os.path.realpath(path)
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", required=True, help="checkout of github.com/benbergner/ips")
    parser.add_argument("--spec", required=True, help="JSON file written by ips bench")
    args = parser.parse_args()
    with open(args.spec) as f:
        spec = json.load(f)

    official = os.path.abspath(args.official)
    # The official modules import each other as top-level packages (`from utils.utils import ...`).
    sys.path.insert(0, official)
    import numpy as np
    import torch
    import yaml
    from torch import nn
    from architecture.ips_net import IPSNet
    from training.iterative import compute_loss, fill_batch, init_batch
    from utils.utils import Struct, adjust_learning_rate

    torch.set_num_threads(spec["threads"])
    with open(os.path.join(official, "config", spec["config"])) as f:
        settings = yaml.load(f, Loader=yaml.FullLoader)
    settings.update(spec["overrides"])
    conf = Struct(**settings)
    torch.manual_seed(conf.seed)
    np.random.seed(conf.seed)
    device = torch.device("cpu")

    rss_before_data = status_kb("VmRSS")
    rows = torch.from_numpy(np.load(spec["data"]))
    images = rows.reshape(spec["distinct"], conf.N, *spec["item_shape"])  # [images, N, C, h, w] or [images, N, D]
    labels = spec["labels"]  # per image: {task name: class index or multi-label vector}

    net = IPSNet(device, conf).to(device)
    # The loss per task as the official main.py chooses it.
    criterions = {t["name"]: nn.NLLLoss() if t["act_fn"] == "softmax" else nn.BCELoss() for t in conf.tasks.values()}
    optimizer = torch.optim.AdamW(net.parameters(), lr=0, weight_decay=conf.wd)

    iterations = spec["iterations"]
    groups = conf.B // conf.B_seq
    loader = range(iterations * groups)  # only its length matters to the schedule
    timings = []
    net.train()
    data_it = 0
    for it in range(iterations):
        start = time.perf_counter()
        mem_patch, mem_pos_enc, batch_labels = init_batch(device, conf)
        n_prep, n_prep_batch = 0, 0
        selection = 0.0
        for g in range(groups):
            first = (it * conf.B + g * conf.B_seq) % spec["distinct"]
            patches = images[first:first + conf.B_seq]
            data = {}
            for task in conf.tasks.values():
                values = [labels[(first + k) % spec["distinct"]][task["name"]] for k in range(conf.B_seq)]
                dtype = torch.float32 if task["metric"] == "multilabel_accuracy" else torch.int64
                data[task["name"]] = torch.tensor(values, dtype=dtype)
            selection_start = time.perf_counter()
            mem_patch_iter, mem_pos_enc_iter = net.ips(patches)
            mem_patch, mem_pos_enc, batch_labels, n_prep, n_prep_batch = fill_batch(
                mem_patch, mem_pos_enc, batch_labels, data, n_prep, n_prep_batch, mem_patch_iter, mem_pos_enc_iter, conf)
            selection += time.perf_counter() - selection_start
            data_it += 1

        adjust_learning_rate(conf.n_epoch_warmup, conf.n_epoch, conf.lr, optimizer, loader, data_it)
        optimizer.zero_grad()
        forward_start = time.perf_counter()
        loss, _ = compute_loss(net, mem_patch, mem_pos_enc, criterions, batch_labels, conf)
        loss.backward()
        forward_backward = time.perf_counter() - forward_start
        optimizer_start = time.perf_counter()
        optimizer.step()
        optimizer_time = time.perf_counter() - optimizer_start
        timings.append({
            "iteration_ms": (time.perf_counter() - start) * 1e3,
            "selection_ms": selection * 1e3,
            "forward_backward_ms": forward_backward * 1e3,
            "optimizer_ms": optimizer_time * 1e3,
        })
        print(f"official: iteration {it + 1}/{iterations} {timings[-1]['iteration_ms'] / 1e3:.1f} s", file=sys.stderr, flush=True)

    # First and last iteration left out, as the official efficiency tracking and the C# trainer do.
    kept = timings[1:-1] if len(timings) > 2 else timings
    result = {key: sum(t[key] for t in kept) / len(kept) for key in kept[0]}
    result.update({
        "iterations": len(kept),
        "peak_bytes": status_kb("VmHWM") * 1024,
        "rss_before_data_bytes": rss_before_data * 1024,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "blas": loaded_blas(),
    })
    print("IPS_OFFICIAL " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
