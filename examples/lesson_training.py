"""The lesson's training loop, with this library: four samples, a tiny tanh net, 20 steps of gradient descent.

Run it with ``python examples/lesson_training.py``. Each line is a step and the loss before its update;
the loss goes down every step.
"""

from micrograd.losses import mse
from micrograd.nn import MLP
from micrograd.optim import SGD

# The lesson's data: four inputs of three numbers, and the output we want for each.
xs = [
    [2.0, 3.0, -1.0],
    [3.0, -1.0, 0.5],
    [0.5, 1.0, 1.0],
    [1.0, 1.0, -1.0],
]
ys = [1.0, -1.0, -1.0, 1.0]

# The lesson's net: 3 inputs, two hidden layers of 4 tanh neurons, one tanh output (41 parameters).
model = MLP(3, [4, 4, 1], activation="tanh", output_activation="tanh", seed=1337)
optimizer = SGD(model.parameters(), lr=0.01)

for k in range(20):
    # forward pass; the lesson adds up the squared errors, and mse() is their mean
    ypred = [model(x) for x in xs]
    loss = mse(ypred, ys) * len(xs)

    # backward pass, after zeroing the gradients: backward() adds to them
    optimizer.zero_grad()
    loss.backward()

    # update: every parameter takes a small step against its gradient
    optimizer.step()

    print(f"step {k} loss {loss.data}")

print("predictions:", [round(model(x).data, 3) for x in xs], "targets:", ys)
