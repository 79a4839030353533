"""``LSTM`` and ``GRU`` (7, 14, 22): recurrent heads of OCR recognisers and sequence models.

A plain time loop following the ONNX equations (gate order iofc for LSTM, zrh for GRU),
forward/reverse/bidirectional, both layouts, peepholes, ``clip``, GRU's
``linear_before_reset`` and the common activation functions. Unequal ``sequence_lens`` are
refused at run time rather than silently ignored.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from harness.model.converters.base import OnnxToTorchModule, register, result, unsupported

_ACTIVATIONS = ("Sigmoid", "Tanh", "Relu", "HardSigmoid", "LeakyRelu", "Affine", "Elu", "Softsign", "Softplus")


def _activation(name: str, alpha: float | None, beta: float | None):
    if name == "Sigmoid":
        return torch.sigmoid
    if name == "Tanh":
        return torch.tanh
    if name == "Relu":
        return torch.relu
    if name == "HardSigmoid":
        a, b = (0.2 if alpha is None else alpha), (0.5 if beta is None else beta)
        return lambda x: torch.clamp(a * x + b, 0, 1)
    if name == "LeakyRelu":
        return lambda x: F.leaky_relu(x, 0.01 if alpha is None else alpha)
    if name == "Affine":
        return lambda x: (1.0 if alpha is None else alpha) * x + (0.0 if beta is None else beta)
    if name == "Elu":
        return lambda x: F.elu(x, 1.0 if alpha is None else alpha)
    if name == "Softsign":
        return F.softsign
    return F.softplus


class _Recurrent(torch.nn.Module, OnnxToTorchModule):
    gates = 0

    def __init__(self, hidden: int, direction: str, layout: int, clip: float | None, activations: list[str],
                 alphas: list[float], betas: list[float], linear_before_reset: bool = False) -> None:
        super().__init__()
        self.hidden, self.direction, self.layout, self.clip = hidden, direction, layout, clip
        self.activation_specs = (activations, alphas, betas)
        self.linear_before_reset = linear_before_reset
        self.n_outputs = 3

    def _select(self, outputs: tuple):
        """Only the outputs the node lists: onnx2torch passes a lone output on without indexing."""
        return outputs[0] if self.n_outputs == 1 else outputs[: self.n_outputs]

    def _functions(self, direction_index: int):
        names, alphas, betas = self.activation_specs
        per = len(names) // (2 if self.direction == "bidirectional" else 1)
        chosen = names[direction_index * per:(direction_index + 1) * per]
        offset = direction_index * per
        return [_activation(n, alphas[offset + i] if offset + i < len(alphas) else None,
                            betas[offset + i] if offset + i < len(betas) else None) for i, n in enumerate(chosen)]

    def _clip(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x, -self.clip, self.clip) if self.clip is not None else x

    def forward(self, x, w, r, b=None, sequence_lens=None, initial_h=None, initial_c=None, p=None):
        if self.layout == 1:
            x = x.transpose(0, 1)
            initial_h = initial_h.transpose(0, 1) if initial_h is not None else None
            initial_c = initial_c.transpose(0, 1) if initial_c is not None else None
        seq, batch = x.shape[0], x.shape[1]
        if sequence_lens is not None and bool((sequence_lens != seq).any()):
            raise RuntimeError(f"{type(self).__name__} with sequence_lens shorter than the sequence is not supported")
        directions = 2 if self.direction == "bidirectional" else 1
        ys, hs, cs = [], [], []
        for d in range(directions):
            reverse = self.direction == "reverse" or d == 1
            h0 = initial_h[d] if initial_h is not None else x.new_zeros(batch, self.hidden)
            c0 = initial_c[d] if initial_c is not None else x.new_zeros(batch, self.hidden)
            bias = b[d] if b is not None else x.new_zeros(2 * self.gates * self.hidden)
            peep = p[d] if p is not None else None
            y, h, c = self._run(x, w[d], r[d], bias, h0, c0, peep, reverse, self._functions(d))
            ys.append(y)
            hs.append(h)
            cs.append(c)
        y = torch.stack(ys, dim=1)  # seq, dirs, batch, hidden
        y_h, y_c = torch.stack(hs), torch.stack(cs)
        if self.layout == 1:
            y = y.permute(2, 0, 1, 3)
            y_h, y_c = y_h.transpose(0, 1), y_c.transpose(0, 1)
        return self._select((y, y_h, y_c))


class OnnxLSTM(_Recurrent):
    gates = 4

    def _run(self, x, w, r, bias, h, c, peep, reverse, functions):
        f, g, act_h = functions
        hidden = self.hidden
        x_proj = torch.matmul(x, w.t()) + bias[: 4 * hidden] + bias[4 * hidden:]
        steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
        outputs = [None] * x.shape[0]
        p_i, p_o, p_f = (peep[:hidden], peep[hidden:2 * hidden], peep[2 * hidden:]) if peep is not None else (0, 0, 0)
        for t in steps:
            gates = x_proj[t] + torch.matmul(h, r.t())
            i, o, fg, cc = gates.split(hidden, dim=-1)
            i = f(self._clip(i + p_i * c))
            fg = f(self._clip(fg + p_f * c))
            cc = g(self._clip(cc))
            c = fg * c + i * cc
            o = f(self._clip(o + p_o * c))
            h = o * act_h(c)
            outputs[t] = h
        return torch.stack(outputs), h, c


class OnnxGRU(_Recurrent):
    gates = 3

    def _run(self, x, w, r, bias, h, c, peep, reverse, functions):
        f, g = functions
        hidden = self.hidden
        wb, rb = bias[: 3 * hidden], bias[3 * hidden:]
        x_proj = torch.matmul(x, w.t()) + wb
        r_z, r_r, r_h = r.split(hidden, dim=0)
        rb_z, rb_r, rb_h = rb.split(hidden)
        steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
        outputs = [None] * x.shape[0]
        for t in steps:
            xz, xr, xh = x_proj[t].split(hidden, dim=-1)
            z = f(self._clip(xz + h @ r_z.t() + rb_z))
            rr = f(self._clip(xr + h @ r_r.t() + rb_r))
            if self.linear_before_reset:
                candidate = g(self._clip(xh + rr * (h @ r_h.t() + rb_h)))
            else:
                candidate = g(self._clip(xh + (rr * h) @ r_h.t() + rb_h))
            h = (1 - z) * candidate + z * h
            outputs[t] = h
        return torch.stack(outputs), h, h


def _convert(node, cls, default_activations: list[str]):
    attrs = node.attributes
    direction = attrs.get("direction", "forward")
    directions = 2 if direction == "bidirectional" else 1
    activations = list(attrs.get("activations", default_activations * directions))
    activations = [a.decode() if isinstance(a, bytes) else a for a in activations]
    unknown = [a for a in activations if a not in _ACTIVATIONS]
    if unknown:
        raise unsupported(node, f"activation {unknown[0]!r}")
    if attrs.get("input_forget", 0):
        raise unsupported(node, "input_forget=1")
    module = cls(attrs["hidden_size"], direction, attrs.get("layout", 0), attrs.get("clip"), activations,
                 list(attrs.get("activation_alpha", [])), list(attrs.get("activation_beta", [])),
                 bool(attrs.get("linear_before_reset", 0)))
    module.n_outputs = len(node.output_values)
    return result(module, node)


@register("LSTM", (7, 14, 22))
def _lstm(node, graph):
    return _convert(node, OnnxLSTM, ["Sigmoid", "Tanh", "Tanh"])


@register("GRU", (7, 14, 22))
def _gru(node, graph):
    return _convert(node, OnnxGRU, ["Sigmoid", "Tanh"])
