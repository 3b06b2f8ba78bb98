"""The Concierge encoder in PyTorch, tensor for tensor the same as the Swift
`Model` target (Sources/Model/Encoder.swift). Shared by encoder_parity.py and
encoder_bench_compare.py.

Architecture: token + learned position embeddings; pre-norm layers
    x = x + attention(norm1(x));  x = x + ffn(norm2(x));  ffn = down(gelu_tanh(up(.)))
final layer norm; pooled = mean over the unmasked tokens; linear heads.
GELU is the tanh approximation (nn.GELU(approximate="tanh")) on both sides.
"""
import json

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file

FORMAT_VERSION = "1"


class Attention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)   # rows: Q, then K, then V; head h = columns h*hd:(h+1)*hd of each
        self.out = nn.Linear(d, d)

    def forward(self, x, attend):
        b, l, d = x.shape
        hd = d // self.heads
        q, k, v = self.qkv(x).view(b, l, 3, self.heads, hd).permute(2, 0, 3, 1, 4)
        # attend: [B, 1, 1, L] bool, True = key is a real token (key-padding mask)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=attend)
        return self.out(y.transpose(1, 2).reshape(b, l, d))


class FFN(nn.Module):
    def __init__(self, d, f):
        super().__init__()
        self.up = nn.Linear(d, f)
        self.down = nn.Linear(f, d)

    def forward(self, x):
        return self.down(F.gelu(self.up(x), approximate="tanh"))


class Layer(nn.Module):
    def __init__(self, d, heads, f):
        super().__init__()
        self.norm1 = nn.LayerNorm(d, eps=1e-5)
        self.attention = Attention(d, heads)
        self.norm2 = nn.LayerNorm(d, eps=1e-5)
        self.ffn = FFN(d, f)

    def forward(self, x, attend):
        x = x + self.attention(self.norm1(x), attend)
        return x + self.ffn(self.norm2(x))


class Encoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        d = config["d_model"]
        self.token_embedding = nn.Embedding(config["vocab_size"], d)
        self.position_embedding = nn.Embedding(config["max_length"], d)
        self.layers = nn.ModuleList(
            [Layer(d, config["heads"], config["ffn_width"]) for _ in range(config["layers"])])
        self.final_norm = nn.LayerNorm(d, eps=1e-5)
        self.head_names = [h["name"] for h in config["output_heads"]]
        self.heads = nn.ModuleDict({h["name"]: nn.Linear(d, h["classes"]) for h in config["output_heads"]})

    def forward(self, ids, lengths):
        """ids: [B, L] int64 (padding value irrelevant), lengths: [B] int64.
        Returns (pooled [B, D], *logits per head in config order)."""
        b, l = ids.shape
        positions = torch.arange(l, device=ids.device)
        valid = positions[None, :] < lengths[:, None]                 # [B, L]
        x = self.token_embedding(ids) + self.position_embedding(positions)[None]
        attend = valid[:, None, None, :]
        for layer in self.layers:
            x = layer(x, attend)
        h = self.final_norm(x)
        m = valid.to(h.dtype)[..., None]
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
        return (pooled,) + tuple(self.heads[n](pooled) for n in self.head_names)


def load_checkpoint(path):
    """Reads a Concierge checkpoint written by Swift (or by save_checkpoint)."""
    with safe_open(path, framework="pt") as f:
        meta = f.metadata()
        assert meta["format_version"] == FORMAT_VERSION, meta["format_version"]
        config = json.loads(meta["config"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    model = Encoder(config)
    model.load_state_dict(tensors, strict=True)
    model.eval()
    return model, json.loads(meta["labels"]), meta["vocab_hash"]


def save_checkpoint(model, path, labels, vocab_hash):
    meta = {
        "format_version": FORMAT_VERSION,
        "config": json.dumps(model.config, sort_keys=True),
        "labels": json.dumps(labels, sort_keys=True),
        "vocab_hash": vocab_hash,
    }
    state = {k: v.detach().contiguous().float() for k, v in model.state_dict().items()}
    save_file(state, path, metadata=meta)


def pad(sequences, pad_id=0):
    l = max(1, max(len(s) for s in sequences))
    ids = torch.full((len(sequences), l), pad_id, dtype=torch.long)
    for i, s in enumerate(sequences):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    return ids, torch.tensor([len(s) for s in sequences], dtype=torch.long)
