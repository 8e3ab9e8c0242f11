"""The "Training a classifier" chapter of PyTorch's 60-minute blitz, on graphc.

The tutorial trains a small CNN on CIFAR-10, which it downloads. This port
trains the same kind of network on scikit-learn's bundled 8x8 handwritten
digits (``sklearn.datasets.load_digits()``: 1797 images, 10 classes, no
download), and follows the chapter's steps:

1. load and normalize the data (``TensorDataset``, an 80/20 ``random_split``
   with a fixed generator, ``DataLoader`` with ``shuffle=True``);
2. define a convolutional network (conv 1->16, pool, conv 16->32, pool,
   two fully connected layers);
3. define a loss function and optimizer (``CrossEntropyLoss``, ``SGD`` with
   momentum);
4. train the network (a plain-text progress bar, the loss per epoch, a loss
   curve written to a PNG when matplotlib is installed);
5. test the network on the test data (overall and per-class accuracy, as the
   tutorial prints them), after a ``save``/``load`` round trip of the weights.

What graphc adds: the whole training step -- forward, loss, ``backward()``,
``optimizer.step()``, ``zero_grad()`` -- is compiled with ``@graphc.compile``
into one program. The first epoch runs eagerly (op by op) and the following
ones compiled, and the time per step of each is printed with the speedup. On
a 2-core CPU the full run reaches about 98% test accuracy in a few seconds.

Run::

    pip install scikit-learn matplotlib      # or: pip install -e .[examples]
    python examples/train_classifier.py                  # full run (10 epochs)
    python examples/train_classifier.py --quick          # a CI-sized run on a subset
    python examples/train_classifier.py --no-compile     # every step eager
    python examples/train_classifier.py --epochs 3 --plot ''   # no PNG
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

# Run from a checkout without installing: make the repository importable.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import graphc as torch  # noqa: E402
import graphc.nn as nn  # noqa: E402
import graphc.nn.functional as F  # noqa: E402
import graphc.optim as optim  # noqa: E402
from graphc.utils.data import DataLoader, Subset, TensorDataset, random_split  # noqa: E402

classes = ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Train a small CNN on scikit-learn's 8x8 digits with graphc.")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default 10; 1 with --quick)")
    p.add_argument("--quick", action="store_true", help="a CI-sized run: 1 epoch on a subset (no accuracy goal)")
    p.add_argument("--no-compile", action="store_true", help="run every training step eagerly")
    p.add_argument("--batch-size", type=int, default=32, help="training mini-batch size (default 32)")
    p.add_argument("--lr", type=float, default=0.02, help="SGD learning rate (default 0.02; momentum 0.9)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights, the split and the shuffling")
    p.add_argument(
        "--plot",
        default="train_classifier_loss.png",
        help="where to write the loss curve (needs matplotlib; '' for none; default %(default)s)",
    )
    args = p.parse_args(argv)
    if args.epochs is None:
        args.epochs = 1 if args.quick else 10
    if args.epochs < 1:
        p.error("--epochs must be at least 1")
    return args


# ----------------------------------------------------------------------------
# 1. Load and normalize the data


def load_data(args):
    """(trainset, testset) of (1x8x8 image, label) pairs; pixels scaled to [-1, 1] as the tutorial's Normalize."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        sys.exit("this example needs scikit-learn: pip install scikit-learn  (or pip install -e .[examples])")
    digits = load_digits()
    images = digits.images.astype(np.float32) / 16.0  # 0..16 -> 0..1, as ToTensor() does for 0..255
    images = (images - 0.5) / 0.5  # Normalize((0.5,), (0.5,))
    images = images[:, None, :, :]  # (N, 1, 8, 8): one channel
    labels = digits.target.astype(np.int64)
    dataset = TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))
    trainset, testset = random_split(dataset, [0.8, 0.2], generator=torch.Generator().manual_seed(args.seed))
    if args.quick:  # a subset: enough steps to warm up, compile and replay the step
        trainset = Subset(trainset, range(min(len(trainset), 512)))
        testset = Subset(testset, range(min(len(testset), 128)))
    return trainset, testset


# ----------------------------------------------------------------------------
# 2. Define a Convolutional Neural Network


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)  # 8x8 -> 8x8
        self.pool = nn.MaxPool2d(2, 2)  # halves height and width
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)  # 4x4 -> 4x4
        self.fc1 = nn.Linear(32 * 2 * 2, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))  # (N, 16, 4, 4)
        x = self.pool(F.relu(self.conv2(x)))  # (N, 32, 2, 2)
        x = torch.flatten(x, 1)  # flatten all dimensions except batch
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
        return x


# ----------------------------------------------------------------------------
# a progress bar (plain text, no dependency)


class ProgressBar:
    """``[epoch 2/8] |##########----------|  22/44 loss 0.3121``, redrawn in place with ``\\r``.

    When stdout is not a terminal (a log, a pipe) only the finished bar is written.
    """

    def __init__(self, total: int, prefix: str, width: int = 30, stream=None):
        self.total, self.prefix, self.width = total, prefix, width
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty()
        self._last = 0

    def _draw(self, done: int, text: str) -> None:
        filled = int(self.width * done / max(1, self.total))
        bar = "#" * filled + "-" * (self.width - filled)
        line = f"{self.prefix} |{bar}| {done:{len(str(self.total))}d}/{self.total} {text}"
        pad = " " * max(0, self._last - len(line))  # blank out what a longer previous line left
        self._last = len(line)
        self.stream.write(f"\r{line}{pad}")
        self.stream.flush()

    def update(self, done: int, text: str = "") -> None:
        if self.live:
            self._draw(done, text)

    def close(self, text: str = "") -> None:
        self._draw(self.total, text)
        self.stream.write("\n")
        self.stream.flush()


# ----------------------------------------------------------------------------
# 3.-4. Loss function, optimizer, training


def train(net, trainloader, args):
    """Train ``net``; returns a dict of per-step losses, per-epoch losses and step timings."""
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=args.lr, momentum=0.9)

    def train_step(inputs, labels):
        # zero the parameter gradients; forward + backward + optimize
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        return loss.detach()

    # The same function, compiled: the first call of a signature traces, compiles
    # and runs it; later calls replay.
    compiled_step = torch.compile(train_step)

    steps_per_epoch = len(trainloader)
    # The first epoch runs eagerly and the rest compiled; with a single epoch, its first half eagerly.
    if args.no_compile:
        eager_steps = steps_per_epoch * args.epochs
    elif args.epochs > 1:
        eager_steps = steps_per_epoch
    else:
        eager_steps = steps_per_epoch // 2

    step_losses, epoch_losses = [], []
    eager_times, compiled_times = [], []  # seconds per step (warm-up steps excluded)
    compile_s = 0.0
    n_compiled_calls = 0
    global_step = 0
    t_train = time.perf_counter()
    for epoch in range(args.epochs):  # loop over the dataset multiple times
        running_loss = 0.0
        bar = ProgressBar(steps_per_epoch, f"[epoch {epoch + 1}/{args.epochs}]")
        for i, data in enumerate(trainloader, 0):
            # get the inputs; data is a list of [inputs, labels]
            inputs, labels = data
            eager = global_step < eager_steps
            step = train_step if eager else compiled_step
            t0 = time.perf_counter()
            loss = step(inputs, labels).item()
            dt = time.perf_counter() - t0
            if eager:
                if global_step > 0:  # the very first step also creates the momentum buffers
                    eager_times.append(dt)
            else:
                n_compiled_calls += 1
                if n_compiled_calls <= 1:  # the call that traces and compiles
                    compile_s += dt
                else:
                    compiled_times.append(dt)
            global_step += 1
            running_loss += loss
            step_losses.append(loss)
            bar.update(i + 1, f"loss {running_loss / (i + 1):.4f} {'eager' if eager else 'compiled'}")
        epoch_loss = running_loss / steps_per_epoch
        epoch_losses.append(epoch_loss)
        bar.close(f"loss {epoch_loss:.4f}")
    train_s = time.perf_counter() - t_train
    print(f"Finished Training in {train_s:.1f} s")
    return {
        "step_losses": step_losses,
        "epoch_losses": epoch_losses,
        "eager_steps": eager_steps,
        "eager_times": eager_times,
        "compiled_times": compiled_times,
        "compile_s": compile_s,
        "compiled_step": compiled_step,
        "compiled_calls": n_compiled_calls,
        "steps_per_epoch": steps_per_epoch,
    }


def report_timings(result, args) -> None:
    eager, compiled = result["eager_times"], result["compiled_times"]
    ms = lambda ts: 1e3 * float(np.median(ts))
    if eager:
        print(f"eager step:    {ms(eager):7.2f} ms/step (median of {len(eager)} steps)")
    if args.no_compile:
        print("compiled step: not run (--no-compile)")
        return
    step = result["compiled_step"]
    info = step.cache_info()
    if compiled:
        print(
            f"compiled step: {ms(compiled):7.2f} ms/step (median of {len(compiled)} replays; "
            f"first call, with the compile: {result['compile_s'] * 1e3:.0f} ms)"
        )
        if eager:
            print(f"speedup:       {ms(eager) / ms(compiled):.2f}x (eager / compiled)")
    print(f"compiled step cache: traces={info.traces} hits={info.hits} eager_calls={info.eager_calls}")
    # The step compiled once (one signature: drop_last keeps every batch the same shape) and replayed since.
    expected = 1 if result["compiled_calls"] >= 1 else 0  # the first compiled call traces
    assert info.traces == expected, f"the training step was traced {info.traces} times: {info}"
    assert info.hits == len(compiled), f"the compiled step did not replay every time: {info}"


def plot_losses(result, path: str) -> None:
    """The loss curve as a PNG, when matplotlib is installed (quietly nothing otherwise)."""
    if not path:
        return
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    losses = result["step_losses"]
    spe = result["steps_per_epoch"]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(np.arange(1, len(losses) + 1), losses, lw=0.8, alpha=0.6, label="mini-batch loss")
    ends = spe * np.arange(1, len(result["epoch_losses"]) + 1)
    ax.plot(ends, result["epoch_losses"], "o-", label="epoch mean")
    if 0 < result["eager_steps"] < len(losses):
        ax.axvline(result["eager_steps"] + 0.5, color="gray", ls="--", lw=0.8, label="eager | compiled")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy loss")
    ax.set_yscale("log")
    ax.set_title("graphc: CNN on 8x8 digits")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"loss curve written to {path}")


# ----------------------------------------------------------------------------
# 5. Test the network on the test data


def evaluate(net, testloader) -> float:
    """Prints a few predictions, the overall accuracy and the accuracy per class; returns the overall one (%)."""
    images, labels = next(iter(testloader))
    outputs = net(images[:8])
    _, predicted = torch.max(outputs, 1)
    print("GroundTruth: ", " ".join(f"{classes[labels[j]]:5s}" for j in range(8)))
    print("Predicted:   ", " ".join(f"{classes[predicted[j]]:5s}" for j in range(8)))

    correct = 0
    total = 0
    # prepare to count predictions for each class
    correct_pred = {classname: 0 for classname in classes}
    total_pred = {classname: 0 for classname in classes}
    # since we're not training, we don't need to calculate the gradients for our outputs
    with torch.no_grad():
        for data in testloader:
            images, labels = data
            # calculate outputs by running images through the network
            outputs = net(images)
            # the class with the highest energy is what we choose as prediction
            _, predictions = torch.max(outputs, 1)
            total += labels.size(0)
            correct += (predictions == labels).sum().item()
            # collect the correct predictions for each class
            for label, prediction in zip(labels, predictions):
                if label == prediction:
                    correct_pred[classes[label]] += 1
                total_pred[classes[label]] += 1
    accuracy = 100 * correct / total
    print(f"Accuracy of the network on the {total} test images: {accuracy:.1f} %")
    # print accuracy for each class
    for classname, correct_count in correct_pred.items():
        if total_pred[classname] == 0:
            print(f"Accuracy for class: {classname:5s} is n/a (no test images)")
            continue
        class_accuracy = 100 * float(correct_count) / total_pred[classname]
        print(f"Accuracy for class: {classname:5s} is {class_accuracy:.1f} %")
    return accuracy


def main(argv=None) -> float:
    args = parse_args(argv)
    t_start = time.perf_counter()
    torch.manual_seed(args.seed)

    trainset, testset = load_data(args)
    # drop_last: every training batch has the same shape, so the compiled step has one signature
    # (a smaller last batch would be a second signature: one more trace, then replays too).
    trainloader = DataLoader(
        trainset,
        batch_size=args.batch_size,
        shuffle=True,
        drop_last=True,
        generator=torch.Generator().manual_seed(args.seed),
    )
    testloader = DataLoader(testset, batch_size=64, shuffle=False)
    print(f"digits: {len(trainset)} training and {len(testset)} test images of 1x8x8, {len(classes)} classes")

    net = Net()
    print(net)
    mode = (
        "eager only"
        if args.no_compile
        else "first epoch eager, then compiled"
        if args.epochs > 1
        else "half eager, half compiled"
    )
    print(f"training {args.epochs} epoch(s), batch {args.batch_size}, SGD lr {args.lr} momentum 0.9 ({mode})")
    result = train(net, trainloader, args)
    report_timings(result, args)
    plot_losses(result, args.plot)

    # Save the trained model and load it back, as the tutorial does.
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "digits_net.pth")
        torch.save(net.state_dict(), path)
        net = Net()
        net.load_state_dict(torch.load(path, weights_only=True))

    accuracy = evaluate(net, testloader)
    print(f"Done in {time.perf_counter() - t_start:.1f} s.")
    return accuracy


if __name__ == "__main__":
    main()
