"""``micrograd playground``: a local web page that trains a network live on this library's engine.

- ``problems``: the six datasets (TensorFlow Playground's four, moons and yin-yang);
- ``session``: one tab's model and training loop, and every number its page draws;
- ``layout``: where a point's graph boxes go (Graphviz);
- ``fields``: what a request, the settings and a session file may hold, as tables, and the one check of them;
- ``server``: the HTTP server (standard library) and its API, whose routes' tables check every request once.

The page itself (HTML, JavaScript, CSS) is in ``micrograd/playground_assets``; it draws, and
computes nothing about the model. Needs NumPy and scikit-learn (``pip install 'micrograd-plus[playground]'``)
and Graphviz's ``dot`` program for the graph panel.
"""

from micrograd.playground.server import make_server, serve

__all__ = ["serve", "make_server"]
