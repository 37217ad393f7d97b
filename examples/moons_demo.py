"""The original micrograd demo as a plain script: a 2-layer ReLU net learns the two moons.

Run it with ``python examples/moons_demo.py``. It prints the loss and accuracy of every step, as the
original notebook did (with its numbers: step 0 loss 0.8958, step 99 loss 0.010978, 100% accuracy),
then the accuracy on fresh test points, and draws the decision boundary to moons_demo.png.
"""

from micrograd.data import moons
from micrograd.losses import accuracy, hinge, l2_penalty
from micrograd.nn import MLP
from micrograd.optim import SGD, LinearDecay
from micrograd.plot import plot_decision_boundary

# 100 points, noise 0.1, drawn exactly as the original did (it seeded NumPy with 1337);
# plus 100 test points from another seed, which the original did not have.
data = moons(seed=1337)
train, test = data.train, data.test
targets = [2 * y - 1 for y in train.y]  # the hinge loss wants labels -1 and +1

# Two hidden layers of 16 ReLU neurons and a linear output: 337 parameters, initialised as the
# original (weights uniform in [-1, 1], biases 0, Python's random seeded with 1337).
model = MLP(2, [16, 16, 1], seed=1337)
print(model, "with", model.num_parameters(), "parameters")

optimizer = SGD(model.parameters(), lr=1.0)
schedule = LinearDecay(optimizer, start=1.0, end=0.1, steps=100)  # lr = 1.0 - 0.9 * k / 100

for k in range(100):
    # forward: a score for every point, the max-margin loss, plus a little L2 on the weights
    scores = [model(x) for x in train.X]
    loss = hinge(scores, targets) + l2_penalty(model.parameters(), 1e-4)

    # backward
    optimizer.zero_grad()
    loss.backward()

    # update, then lower the learning rate for the next step
    optimizer.step()
    schedule.step()

    print(f"step {k} loss {loss.data}, accuracy {accuracy(scores, train.y) * 100}%")

test_scores = [model(x) for x in test.X]
print(f"test accuracy {accuracy(test_scores, test.y) * 100}%")

plot_decision_boundary(model, train, "moons_demo.png", test=test, title="the original demo's moons")
print("wrote moons_demo.png")
