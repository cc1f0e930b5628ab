"""The Keras textbook tasks (seeds 002 and 004): importing this package registers them all.

mnist and fashion-mnist (dense and CNN models), cifar10 (CNN with dropout), imdb and reuters
(multi-hot dense nets, text prediction without TensorFlow) and boston-housing (regression with
K-fold validation through ``zoo kfold``). See zoo/cards/textbook.md.
"""

from zoo.tasks.textbook import boston, cifar10, imdb, mnist, reuters

__all__ = ["boston", "cifar10", "imdb", "mnist", "reuters"]
