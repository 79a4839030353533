"""The part of a graph downstream of one layer, re-run for replacements of one unit of that layer.

Replacing unit u of a layer changes one slice of the layer's output (channel u of a conv,
feature u of a linear layer). Downstream, that slice stays the only difference for as long
as the ops act slice by slice (activations, per-channel pooling and normalisation, a flatten
that turns a channel into a block of features); the first linear op that mixes slices (a
convolution or a linear layer) turns it into a dense difference, which by linearity is the
intact output plus the op applied to the slice's change alone. So per replacement the graph
computes one channel through the slice-wise ops and one narrow linear op, and only the ops
after that run on full-width tensors. Every other op falls back to the textbook way: the
full tensor is rebuilt from the intact one with the slice written in.

The intact values of every downstream node are computed once (``intact``); a replacement
batch stacks K variants of the slice along the batch axis (K*N rows).
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import fx, nn

from harness.model.cut import as_tuple

# Ops applied element by element: any slice of the input gives the same slice of the output.
_ELEMENTWISE_MODULES = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.Hardtanh, nn.Sigmoid, nn.Tanh, nn.GELU, nn.SiLU, nn.ELU, nn.SELU, nn.CELU,
    nn.Softplus, nn.Hardswish, nn.Hardsigmoid, nn.Mish, nn.Identity, nn.Dropout,
)
_ELEMENTWISE_FUNCTIONS = {torch.relu, torch.tanh, torch.sigmoid, F.relu, F.relu6, F.gelu, F.silu, F.elu, F.leaky_relu,
                          F.hardtanh, F.hardswish, F.mish, torch.nn.functional.softplus}
# Binary ops applied element by element (with broadcasting).
_BINARY_FUNCTIONS = {operator.add: torch.add, operator.sub: torch.sub, operator.mul: torch.mul, operator.truediv: torch.div,
                     torch.add: torch.add, torch.sub: torch.sub, torch.mul: torch.mul, torch.div: torch.div}
# Ops that act on each channel (axis 1) separately, over the spatial axes.
_PER_CHANNEL_MODULES = (
    nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
    nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
    nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d,
)
_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_CONV_T = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


@dataclass(frozen=True)
class Slice:
    """A value equal to the intact one except in ``[start, stop)`` along ``axis``; ``value`` holds that slice, K*N rows."""

    value: torch.Tensor
    axis: int
    start: int
    stop: int


def _fetch_attr(module: nn.Module, target: str):
    value = module
    for part in target.split("."):
        value = getattr(value, part)
    return value




def run_node(gm: fx.GraphModule, node: fx.Node, env: dict):
    """Evaluate one fx node with its inputs taken from ``env``."""
    args = fx.node.map_arg(node.args, lambda n: env[n])
    kwargs = fx.node.map_arg(node.kwargs, lambda n: env[n])
    if node.op == "call_module":
        return gm.get_submodule(node.target)(*args, **kwargs)
    if node.op == "call_function":
        return node.target(*args, **kwargs)
    if node.op == "call_method":
        return getattr(args[0], node.target)(*args[1:], **kwargs)
    if node.op == "get_attr":
        return _fetch_attr(gm, node.target)
    raise AssertionError(node.op)


class UnitSuffix:
    """An fx graph cut after one call_module node, re-run on stacked replacements of one slice of its output."""

    def __init__(self, gm: fx.GraphModule, module_name: str) -> None:
        self.gm = gm
        nodes = list(gm.graph.nodes)
        hits = [n for n in nodes if n.op == "call_module" and n.target == module_name]
        if len(hits) != 1:
            raise ValueError(f"module {module_name} is called {len(hits)} times")
        self.layer_node = hits[0]
        downstream = {self.layer_node}
        for node in nodes:
            if node.op != "output" and any(a in downstream for a in node.all_input_nodes):
                downstream.add(node)
        self.downstream = downstream
        self.suffix = [n for n in nodes if n in downstream and n is not self.layer_node and n.op != "output"]
        self.output_node = next(n for n in nodes if n.op == "output")
        self.base: dict = {}
        self.n_images = 0
        self.modes: dict[str, str] = {}  # node name -> how the last replacement batch computed it

    @torch.no_grad()
    def intact(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple]:
        """One full pass keeping every value the suffix needs: (the layer's input, the model outputs)."""
        env: dict = {}
        needed = {a for n in self.suffix + [self.output_node] for a in n.all_input_nodes} | set(self.layer_node.all_input_nodes)
        outputs: tuple = ()
        for node in self.gm.graph.nodes:
            if node.op == "placeholder":
                env[node] = x
            elif node.op == "output":
                outputs = as_tuple(fx.node.map_arg(node.args[0], lambda n: env[n]))
            else:
                env[node] = run_node(self.gm, node, env)
        self.base = {n: env[n] for n in needed | self.downstream}
        self.n_images = x.shape[0]
        return env[self.layer_node.args[0]], outputs

    def widest_row_bytes(self, dense_only: bool = False) -> int:
        """Bytes per image of the largest value the suffix computes (sizes the replacement batches).

        With ``dense_only``, only values the last replacement batch computed at full width count
        (a slice-wise value is one channel wide); before any batch, every downstream value counts.
        """
        dense = {name for name, mode in self.modes.items() if mode != "slice"} if dense_only and self.modes else None
        sizes = [v[0].numel() * v.element_size() for n, v in self.base.items()
                 if n in self.downstream and (dense is None or n.name in dense)
                 and isinstance(v, torch.Tensor) and v.dim() > 0 and v.shape[0] == self.n_images]
        return max(sizes, default=1)

    def _batched(self, value, k: int):
        if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape[0] == self.n_images:
            return value.repeat(k, *([1] * (value.dim() - 1)))
        return value

    def _dense(self, node: fx.Node, value, k: int) -> torch.Tensor:
        """The full K*N-row value of ``node``, rebuilding it from the intact one where only a slice changed."""
        if not isinstance(value, Slice):
            return value
        full = self._batched(self.base[node], k).clone()
        index = [slice(None)] * full.dim()
        index[value.axis] = slice(value.start, value.stop)
        full[tuple(index)] = value.value
        return full

    def dense_layer_output(self, replaced: Slice, k: int) -> torch.Tensor:
        """The layer's full K*N-row output with the replaced slice written in (for the hook fallback)."""
        return self._dense(self.layer_node, replaced, k)

    def _base_slice(self, node: fx.Node, s: Slice, k: int) -> torch.Tensor:
        base = self.base[node].narrow(s.axis, s.start, s.stop - s.start)
        return base.unsqueeze(0).expand(k, *base.shape).reshape(k * base.shape[0], *base.shape[1:])

    def _binary(self, node: fx.Node, module: nn.Module | None, s: Slice, k: int) -> Slice | None:
        """An element-wise binary op whose other operand the replacement does not change (a residual skip, a constant)."""
        if module is not None and type(module).__name__ == "OnnxBinaryMathOperation" and module.broadcast is None:
            fn = {torch.add: torch.add, torch.sub: torch.sub, torch.mul: torch.mul}.get(module.math_op_function)
            fn = fn or (torch.div if module.math_op_function.__name__ == "_onnx_div" else None)
        elif node.op == "call_function" and not node.kwargs:
            fn = _BINARY_FUNCTIONS.get(node.target)
        else:
            return None
        if fn is None or len(node.args) != 2:
            return None
        changed = [isinstance(a, fx.Node) and a in self.downstream for a in node.args]
        if changed.count(True) != 1:
            return None
        other = node.args[changed.index(False)]
        other = self.base[other] if isinstance(other, fx.Node) else other
        full = self.base[node]
        if isinstance(other, torch.Tensor):
            if not other.is_floating_point():
                return None
            part = torch.broadcast_to(other, full.shape).narrow(s.axis, s.start, s.stop - s.start)
            other = part.unsqueeze(0).expand(k, *part.shape).reshape(k * part.shape[0], *part.shape[1:])
        elif not isinstance(other, (int, float)):
            return None
        value = fn(s.value, other) if changed[0] else fn(other, s.value)
        return Slice(value, s.axis, s.start, s.stop)

    def _slicewise(self, node: fx.Node, s: Slice, k: int) -> Slice | torch.Tensor | None:
        """The node's output computed from the changed slice only, or None when the op is not slice-wise."""
        module = self.gm.get_submodule(node.target) if node.op == "call_module" else None
        fn = node.target if node.op == "call_function" else None
        binary = self._binary(node, module, s, k)
        if binary is not None:
            return binary
        if not node.args or node.args[0] not in self.downstream:
            return None
        if any(a in self.downstream for a in node.all_input_nodes if a is not node.args[0]):
            return None
        full_shape = self.base[node.args[0]].shape
        out_shape = self.base[node].shape if isinstance(self.base.get(node), torch.Tensor) else None
        if isinstance(module, _ELEMENTWISE_MODULES) or (fn in _ELEMENTWISE_FUNCTIONS and not node.kwargs and len(node.args) == 1):
            return Slice(module(s.value) if module is not None else fn(s.value), s.axis, s.start, s.stop)
        if isinstance(module, _PER_CHANNEL_MODULES) and s.axis == 1 and len(full_shape) >= 3:
            return Slice(module(s.value), 1, s.start, s.stop)
        if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d | nn.BatchNorm3d) and s.axis == 1 and not module.training:
            part = slice(s.start, s.stop)
            w = module.weight[part] if module.weight is not None else None
            b = module.bias[part] if module.bias is not None else None
            return Slice(F.batch_norm(s.value, module.running_mean[part], module.running_var[part], w, b, False, 0.0,
                                      module.eps), 1, s.start, s.stop)
        if s.axis == 1 and len(full_shape) >= 3 and out_shape is not None and _is_flatten(module, node) \
                and tuple(out_shape) == (full_shape[0], math.prod(full_shape[1:])):
            block = math.prod(full_shape[2:])
            return Slice(s.value.reshape(s.value.shape[0], -1), 1, s.start * block, s.stop * block)
        if isinstance(module, _CONV) and s.axis == 1 and module.groups == 1 and module.padding_mode == "zeros" \
                and len(node.args) == 1 and not node.kwargs:
            delta = s.value - self._base_slice(node.args[0], s, k)
            change = module._conv_forward(delta, module.weight[:, s.start:s.stop], None)
            return (self.base[node].unsqueeze(0) + change.reshape(k, *self.base[node].shape)).reshape(change.shape)
        if isinstance(module, _CONV_T) and s.axis == 1 and module.groups == 1 and module.padding_mode == "zeros" \
                and len(node.args) == 1 and not node.kwargs:
            delta = s.value - self._base_slice(node.args[0], s, k)
            conv_t = {3: F.conv_transpose1d, 4: F.conv_transpose2d, 5: F.conv_transpose3d}[delta.dim()]
            change = conv_t(delta, module.weight[s.start:s.stop], None, module.stride, module.padding,
                            module.output_padding, 1, module.dilation)
            return (self.base[node].unsqueeze(0) + change.reshape(k, *self.base[node].shape)).reshape(change.shape)
        if isinstance(module, nn.Linear) and s.axis == len(full_shape) - 1:
            delta = s.value - self._base_slice(node.args[0], s, k)
            change = F.linear(delta, module.weight[:, s.start:s.stop])
            return (self.base[node].unsqueeze(0) + change.reshape(k, *self.base[node].shape)).reshape(change.shape)
        return None

    @torch.no_grad()
    def outputs(self, replaced: Slice, k: int) -> tuple:
        """Model outputs for K stacked replacements of one slice of the layer's output (K*N rows, or N where unaffected)."""
        env: dict = {self.layer_node: replaced}
        for node in self.suffix:
            values = [env.get(a) for a in node.all_input_nodes if a in self.downstream]
            result = None
            if len(values) == 1 and isinstance(values[0], Slice):
                result = self._slicewise(node, values[0], k)
            if result is None:
                inputs = {a: (self._dense(a, env[a], k) if a in self.downstream else self._batched(self.base[a], k))
                          for a in node.all_input_nodes}
                result = run_node(self.gm, node, inputs)
                self.modes[node.name] = "dense"
            else:
                self.modes[node.name] = "slice" if isinstance(result, Slice) else "linear-update"
            env[node] = result
        return as_tuple(fx.node.map_arg(self.output_node.args[0],
                                        lambda n: self._dense(n, env[n], k) if n in self.downstream else self.base[n]))


def _is_flatten(module: nn.Module | None, node: fx.Node) -> bool:
    """A flatten / reshape node (its output shape is checked by the caller)."""
    if isinstance(module, nn.Flatten):
        return True
    if module is not None and type(module).__name__ in ("OnnxReshape", "OnnxFlatten"):
        return True
    return node.op == "call_function" and node.target in (torch.flatten, torch.reshape) or \
        (node.op == "call_method" and node.target in ("flatten", "reshape", "view"))

