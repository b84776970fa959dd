"""The question that started CrossSim: 7 pairs of 768-d vectors, three scenarios.

Writes data/seven/{collapsed,opposite,identical}/{x1,x2}.npy:
  collapsed  every row of x1 and x2 is the same vector
  opposite   every x1 row is the same vector v, every x2 row is -v
  identical  x1 = x2, random rows
Cross-entropy over raw cosine similarities (tau = 1) gives log 7 = 1.9459 for the first two
and barely less for the third; see the README for what tau = 0.05 and SigLIP give.
"""
import os
import numpy as np

rng = np.random.default_rng(7)
root = os.path.join(os.path.dirname(__file__), "..", "data", "seven")
v = rng.standard_normal(768).astype(np.float32)
random_rows = rng.standard_normal((7, 768)).astype(np.float32)
scenarios = {
    "collapsed": (np.tile(v, (7, 1)), np.tile(v, (7, 1))),
    "opposite": (np.tile(v, (7, 1)), np.tile(-v, (7, 1))),
    "identical": (random_rows, random_rows.copy()),
}
for name, (x1, x2) in scenarios.items():
    folder = os.path.join(root, name)
    os.makedirs(folder, exist_ok=True)
    np.save(os.path.join(folder, "x1.npy"), x1)
    np.save(os.path.join(folder, "x2.npy"), x2)
    print(name, x1.shape, x2.shape)
