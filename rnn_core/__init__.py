"""rnn_core: the numpy library of the book *Recurrent Neural Networks, Derived
and Proved*. Every chapter imports it; every function names the chapter that
introduces it. ``import rnn_core`` needs numpy and tqdm only (no torch).
"""
from .activations import get_activation, log_softmax, sigmoid, softmax
from .clipping import clip_by_global_norm, clip_by_value, global_norm
from .gradcheck import gradient_check, numerical_gradient, relative_error
from .init import (identity, initialize_rnn_parameters, orthogonal, small_random,
                   xavier_normal, xavier_uniform)
from .losses import rnn_many_to_many_loss, rnn_many_to_one_loss, softmax_cross_entropy
from .optim import SGD, Adagrad, Adam, Momentum, Optimizer
from .rnn import rnn_backward, rnn_cell_backward, rnn_cell_forward, rnn_forward
from .stateful import StatefulRNN
from .training import train
from .gru import gru_backward, gru_cell_backward, gru_cell_forward, gru_forward
from .lstm import lstm_backward, lstm_cell_backward, lstm_cell_forward, lstm_forward
from .fast import Workspace, layer_backward, layer_forward
from .threads import available_cpus, set_threads, thread_settings
from .layers import Dense, Embedding, OneHot, Recurrent, SequenceModel
from . import tasks

__version__ = "0.1.0"
