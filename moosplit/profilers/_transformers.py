"""Transformers behind :mod:`moosplit.profilers.architectures` (private): ViT-B/16 and a
GPT-2-small-style decoder, written so that ``torch.fx`` traces attention into rows.

ViT's attention is written out (:class:`SelfAttention`): one packed input projection
(``F.linear`` with ``in_proj_weight``), the heads split with ``unflatten``/``permute``/
``unbind``, ``q @ k^T``, the ``1/sqrt(head_dim)`` scale, ``softmax``, ``@ v``, the heads
merged and ``out_proj``: each a row. That is the computation of ``nn.MultiheadAttention``
without dropout and with ``need_weights=False``, with its parameter names
(``in_proj_weight``, ``in_proj_bias``, ``out_proj``), so a torchvision ViT state dict loads
into :class:`VisionTransformer` strictly; traced as an ``nn.MultiheadAttention`` module it
would be one opaque row. GPT-2's causal attention is one ``F.scaled_dot_product_attention``
row (op ``attention``) between its ``c_attn`` and ``c_proj`` rows: a causal mask written as
a ``masked_fill`` with -inf would be a row whose output quantisation error is undefined.

- :class:`VisionTransformer`: torchvision's ``vit_b_16`` (``torchvision/models/
  vision_transformer.py``): 16x16 patch convolution ``conv_proj``, class token, learned
  position embedding, 12 pre-norm encoder blocks (``encoder.layers.encoder_layer_{i}``:
  ``ln_1``, ``self_attention``, ``dropout``, ``ln_2``, ``mlp`` = Linear, GELU, Dropout,
  Linear, Dropout), LayerNorm eps 1e-6, ``heads.head``; torchvision's initialisation,
  except that ``heads.head`` keeps PyTorch's default Linear initialisation where torchvision
  zeroes it (for fine-tuning): with a zero head the output would not depend on the input,
  and output-sensitivity errors would all be 0.
- :class:`GPT2`: a GPT-2-small-style decoder-only language model (A. Radford et al.,
  "Language Models are Unsupervised Multitask Learners", 2019), written here after the
  published architecture: token and position embeddings (``wte``, ``wpe``), pre-norm blocks
  (``h.{i}``: ``ln_1``, causal ``attn``, ``ln_2``, ``mlp`` with tanh-approximated GELU),
  ``ln_f``, and ``lm_head`` tied to ``wte`` (as GPT-2). Linear layers are ``nn.Linear``
  (GPT-2's ``Conv1D`` stores the same matrices transposed); dropout is left out (inference
  only); GPT-2's initialisation (normal, std 0.02; residual projections scaled by
  ``1/sqrt(2 n_layer)``). Its input is token ids (int64), one sequence of ``context``
  tokens per sample; its output the logits of every position.

Weights are random. The module imports without torch (classes then derive from object).
"""

from __future__ import annotations

import math
from collections import OrderedDict

try:
    import torch
    from torch import Tensor, nn
    from torch.nn import functional as F
except ImportError:  # never instantiated without torch
    _Module: type = object
    _Sequential: type = object
else:
    _Module = nn.Module
    _Sequential = nn.Sequential


def _heads(qkv: Tensor, num_heads: int, head_dim: int) -> tuple[Tensor, Tensor, Tensor]:
    """Queries, keys and values (n, heads, L, head_dim) of packed projections (n, L, 3E)."""
    qkv = qkv.unflatten(-1, (3, num_heads, head_dim)).permute(2, 0, 3, 1, 4)
    return qkv.unbind(0)


def _merge(heads: Tensor) -> Tensor:
    """(n, heads, L, head_dim) back to (n, L, E)."""
    return heads.transpose(1, 2).flatten(2)


class SelfAttention(_Module):
    """Multi-head self-attention written out, with ``nn.MultiheadAttention``'s parameter
    names (``in_proj_weight``, ``in_proj_bias``, ``out_proj``) and initialisation."""

    def __init__(self, embed_dim: int, num_heads: int) -> None:
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim {embed_dim} is not a multiple of num_heads {num_heads}")
        self.num_heads, self.head_dim = num_heads, embed_dim // num_heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim))
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: Tensor) -> Tensor:
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)
        q, k, v = _heads(qkv, self.num_heads, self.head_dim)
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))
        return self.out_proj(_merge(scores.softmax(dim=-1) @ v))


class CausalSelfAttention(_Module):
    """GPT-2's masked multi-head self-attention: packed ``c_attn``, causal scaled dot-product
    attention (one ``F.scaled_dot_product_attention`` row), ``c_proj``."""

    def __init__(self, hidden: int, num_heads: int) -> None:
        super().__init__()
        if hidden % num_heads:
            raise ValueError(f"hidden {hidden} is not a multiple of num_heads {num_heads}")
        self.num_heads, self.head_dim = num_heads, hidden // num_heads
        self.c_attn = nn.Linear(hidden, 3 * hidden)
        self.c_proj = nn.Linear(hidden, hidden)

    def forward(self, x: Tensor) -> Tensor:
        q, k, v = _heads(self.c_attn(x), self.num_heads, self.head_dim)
        return self.c_proj(_merge(F.scaled_dot_product_attention(q, k, v, is_causal=True)))


# --------------------------------------------------------------------------- ViT


class MLPBlock(_Sequential):
    """torchvision's ViT ``MLPBlock``: Linear, GELU, Dropout, Linear, Dropout."""

    def __init__(self, in_dim: int, mlp_dim: int, dropout: float) -> None:
        super().__init__(nn.Linear(in_dim, mlp_dim), nn.GELU(), nn.Dropout(dropout),
                         nn.Linear(mlp_dim, in_dim), nn.Dropout(dropout))
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.normal_(m.bias, std=1e-6)


class EncoderBlock(_Module):
    """torchvision's ViT ``EncoderBlock`` (pre-norm attention and MLP, residual adds)."""

    def __init__(self, num_heads: int, hidden_dim: int, mlp_dim: int, dropout: float) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.self_attention = SelfAttention(hidden_dim, num_heads)
        self.dropout = nn.Dropout(dropout)
        self.ln_2 = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.mlp = MLPBlock(hidden_dim, mlp_dim, dropout)

    def forward(self, input: Tensor) -> Tensor:
        x = self.dropout(self.self_attention(self.ln_1(input))) + input
        return x + self.mlp(self.ln_2(x))


class Encoder(_Module):
    """torchvision's ViT ``Encoder``: position embedding, blocks, final LayerNorm."""

    def __init__(self, seq_length: int, num_layers: int, num_heads: int, hidden_dim: int,
                 mlp_dim: int, dropout: float) -> None:
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(1, seq_length, hidden_dim).normal_(
            std=0.02))
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.Sequential(OrderedDict(
            (f"encoder_layer_{i}", EncoderBlock(num_heads, hidden_dim, mlp_dim, dropout))
            for i in range(num_layers)))
        self.ln = nn.LayerNorm(hidden_dim, eps=1e-6)

    def forward(self, input: Tensor) -> Tensor:
        return self.ln(self.layers(self.dropout(input + self.pos_embedding)))


class VisionTransformer(_Module):
    """torchvision's ``VisionTransformer`` (no representation layer, no conv stem)."""

    def __init__(self, image_size: int = 224, patch_size: int = 16, num_layers: int = 12,
                 num_heads: int = 12, hidden_dim: int = 768, mlp_dim: int = 3072,
                 dropout: float = 0.0, num_classes: int = 1000) -> None:
        super().__init__()
        if image_size % patch_size:
            raise ValueError(f"image size {image_size} is not a multiple of the patch size "
                             f"{patch_size}")
        self.conv_proj = nn.Conv2d(3, hidden_dim, kernel_size=patch_size, stride=patch_size)
        self.class_token = nn.Parameter(torch.zeros(1, 1, hidden_dim))
        seq_length = (image_size // patch_size) ** 2 + 1
        self.encoder = Encoder(seq_length, num_layers, num_heads, hidden_dim, mlp_dim, dropout)
        self.heads = nn.Sequential(OrderedDict(head=nn.Linear(hidden_dim, num_classes)))
        fan_in = self.conv_proj.in_channels * patch_size * patch_size
        nn.init.trunc_normal_(self.conv_proj.weight, std=math.sqrt(1 / fan_in))
        nn.init.zeros_(self.conv_proj.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv_proj(x).flatten(2).transpose(1, 2)  # (n, patches, hidden)
        token = self.class_token.expand(x.size(0), -1, -1)
        x = self.encoder(torch.cat([token, x], dim=1))
        return self.heads(x[:, 0])


# --------------------------------------------------------------------------- GPT-2


class GPT2MLP(_Module):
    """GPT-2's feed-forward block: ``c_fc``, tanh-approximated GELU, ``c_proj``."""

    def __init__(self, hidden: int, inner: int) -> None:
        super().__init__()
        self.c_fc = nn.Linear(hidden, inner)
        self.act = nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(inner, hidden)

    def forward(self, x: Tensor) -> Tensor:
        return self.c_proj(self.act(self.c_fc(x)))


class GPT2Block(_Module):
    """A pre-norm decoder block: causal self-attention and MLP, each with a residual add."""

    def __init__(self, hidden: int, num_heads: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(hidden, eps=1e-5)
        self.attn = CausalSelfAttention(hidden, num_heads)
        self.ln_2 = nn.LayerNorm(hidden, eps=1e-5)
        self.mlp = GPT2MLP(hidden, 4 * hidden)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT2(_Module):
    """A GPT-2-style language model over `context` tokens (GPT-2 small by default)."""

    def __init__(self, context: int = 128, vocab_size: int = 50257, positions: int = 1024,
                 num_layers: int = 12, num_heads: int = 12, hidden: int = 768) -> None:
        super().__init__()
        if not 1 <= context <= positions:
            raise ValueError(f"context must lie in 1..{positions} tokens, got {context}")
        self.wte = nn.Embedding(vocab_size, hidden)
        self.wpe = nn.Embedding(positions, hidden)
        self.register_buffer("position_ids", torch.arange(context), persistent=False)
        self.h = nn.ModuleList(GPT2Block(hidden, num_heads) for _ in range(num_layers))
        self.ln_f = nn.LayerNorm(hidden, eps=1e-5)
        self.lm_head = nn.Linear(hidden, vocab_size, bias=False)
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif p.ndim >= 2:  # residual projections: GPT-2's 1/sqrt(2 n_layer) scaling
                std = 0.02 / math.sqrt(2 * num_layers) if name.endswith("c_proj.weight") \
                    else 0.02
                nn.init.normal_(p, std=std)
        self.lm_head.weight = self.wte.weight  # tied, as in GPT-2

    def forward(self, ids: Tensor) -> Tensor:
        x = self.wte(ids) + self.wpe(self.position_ids)
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


# --------------------------------------------------------------------------- builders


def vit_b_16(input_shape: tuple[int, ...] = (3, 224, 224)) -> VisionTransformer:
    """torchvision's ``vit_b_16`` (random weights, torchvision's initialisation) for square
    RGB inputs of `input_shape` (3, S, S), S a multiple of 16."""
    if len(input_shape) != 3 or input_shape[0] != 3 or input_shape[1] != input_shape[2] \
            or input_shape[1] % 16:
        raise ValueError("3xSxS (square RGB images, S a multiple of the 16-pixel patch)")
    return VisionTransformer(image_size=int(input_shape[1]))


def gpt2_small(input_shape: tuple[int, ...] = (128,)) -> GPT2:
    """A GPT-2-small-style decoder (12 layers, hidden 768, 12 heads, vocabulary 50,257, 1,024
    positions, tied embeddings; 124,439,808 parameters) over `input_shape` = (context,)
    tokens, random weights."""
    if len(input_shape) != 1 or not 1 <= input_shape[0] <= 1024:
        raise ValueError("(L,): one sequence of L token ids per sample, 1 <= L <= 1024 "
                         "(GPT-2's positions)")
    return GPT2(context=int(input_shape[0]))
