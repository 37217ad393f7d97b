"""Train a micrograd MLP on several processes with PyTorch's DistributedDataParallel, then read it back.

    python examples/train_ddp.py                              # 2 processes on this machine, MNIST
    python examples/train_ddp.py --processes 4 --dataset digits --steps 300
    torchrun --standalone --nproc-per-node 2 examples/train_ddp.py   # the same, started by torchrun

The model is made here as a micrograd ``MLP``, exported with ``micrograd.export.to_torch`` and
trained by every process at once: each takes its share of every batch, and DDP averages the
gradients across processes (gloo backend, on the CPU, talking over 127.0.0.1) so that every copy
of the model takes the same step. Afterwards each process reads its copy back with ``from_torch``
and saves it as ``rank-<r>.json`` in ``--out``; process 0 also saves ``model.json`` and the loss of
every step (``losses.json``), and prints the test accuracy micrograd measures on the model it read
back. docs/scaling.md says when to take this path. Needs PyTorch: pip install 'micrograd-plus[export,demo]'.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=2, help="how many processes train together (default 2)")
    parser.add_argument("--dataset", choices=["mnist", "digits"], default="mnist", help="(default mnist)")
    parser.add_argument("--n-samples", type=int, default=None, help="use only this many samples (default: all)")
    parser.add_argument("--hidden", type=int, nargs="+", default=[128], help="hidden layer widths (default 128)")
    parser.add_argument("--steps", type=int, default=200, help="optimizer steps (default 200)")
    parser.add_argument("--batch-size", type=int, default=128, help="samples per step, all processes together")
    parser.add_argument("--lr", type=float, default=0.01, help="Adam's learning rate (default 0.01)")
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--out", default=os.path.join("out", "ddp"), help="folder for the models (default out/ddp)")
    args = parser.parse_args()
    by_torchrun = "RANK" in os.environ  # torchrun gives every process its rank and the address
    processes = int(os.environ["WORLD_SIZE"]) if by_torchrun else args.processes
    if processes < 1:
        parser.error("--processes must be at least 1")
    if args.batch_size < processes:  # a process with no samples would have a loss of NaN
        parser.error(f"--batch-size must be at least the number of processes ({processes}): each takes a share "
                     f"of every batch, got {args.batch_size}")
    if by_torchrun:
        train(int(os.environ["RANK"]), processes, "env://", args)
        return
    import torch.multiprocessing

    address = f"tcp://127.0.0.1:{free_port()}"
    torch.multiprocessing.spawn(train, args=(args.processes, address, args), nprocs=args.processes, join=True)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the system picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def train(rank: int, world_size: int, address: str, args) -> None:
    """One process's part: the same model and data as every other process, its own share of each batch."""
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    from micrograd import data
    from micrograd._files import write_atomically
    from micrograd.export import from_torch, to_torch
    from micrograd.nn import MLP
    from micrograd.train import evaluate

    torch.set_num_threads(1)  # one core per process: they share the machine
    dist.init_process_group("gloo", init_method=address, rank=rank, world_size=world_size)
    try:
        splits = data.load(args.dataset, seed=args.seed, n_samples=args.n_samples)
        train_set = splits.train
        # Every process builds the same micrograd model from the same seed (DDP would also copy
        # process 0's weights to the others when it wraps the module).
        model = MLP(train_set.num_features, [*args.hidden, train_set.num_classes], seed=args.seed, init="fan_in")
        module = DistributedDataParallel(to_torch(model))
        optimizer = torch.optim.Adam(module.parameters(), lr=args.lr)
        X = torch.tensor(train_set.X, dtype=torch.float64)
        y = torch.tensor(train_set.y)
        order = torch.Generator().manual_seed(args.seed)  # the same batches in every process
        losses = []
        for step in range(args.steps):
            batch = torch.randint(len(y), (args.batch_size,), generator=order)
            mine = batch[rank::world_size]  # this process's share of the batch
            loss = torch.nn.functional.cross_entropy(module(X[mine]), y[mine])
            optimizer.zero_grad()
            loss.backward()  # DDP averages every parameter's gradient over the processes here
            optimizer.step()
            mean_loss = loss.detach().clone()
            dist.all_reduce(mean_loss)  # the batch's loss, for the record: the mean of the shares
            losses.append(mean_loss.item() / world_size)
            if rank == 0 and (step % 50 == 0 or step == args.steps - 1):
                print(f"step {step}  loss {losses[-1]:.4f}", flush=True)
    finally:
        dist.destroy_process_group()

    trained = from_torch(module.module)
    os.makedirs(args.out, exist_ok=True)
    trained.save(os.path.join(args.out, f"rank-{rank}.json"))
    if rank == 0:
        trained.save(os.path.join(args.out, "model.json"))
        write_atomically(os.path.join(args.out, "losses.json"), json.dumps(losses))
        test_loss, test_accuracy = evaluate(trained, splits.test, "cross_entropy", compiled=True)
        print(
            f"{world_size} processes, {args.steps} steps of {args.batch_size}: loss {losses[0]:.4f} -> "
            f"{losses[-1]:.4f}; read back into micrograd: test accuracy {test_accuracy:.1%} "
            f"({len(splits.test)} samples); wrote {args.out}/model.json",
            flush=True,
        )


if __name__ == "__main__":
    sys.exit(main())
