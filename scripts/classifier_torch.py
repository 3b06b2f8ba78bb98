"""The Concierge intent classifier in PyTorch, tensor for tensor the same as
the Swift `IntentClassifier` (Sources/Model/IntentClassifier.swift) and its
training graph (Sources/Training/ShardWorker.swift), including the dropout
sites. Used by training_bench_compare.py and training_parity.py.

    x0 = drop(E_tok[ids] + E_pos)
    x  = x + drop(out(attention(norm1(x))))          pre-norm layers
    x  = x + drop(down(gelu_tanh(up(norm2(x)))))
    h  = final_norm(x); pooled = mean over real tokens
    sparse = act(LN(sum_i v_i E_sparse[idx_i]))         (optional)
    z  = concat(drop(pooled), drop_sparse(sparse))
    hid = drop_hidden(gelu_tanh(hidden(z)))             (optional)
    logits[head] = heads[head](hid or z)
Loss: per head, mean cross-entropy (label smoothing) over the examples labelled
for that head (label -100 = none), summed over heads.
"""
import json

import torch
import torch.nn as nn
import torch.nn.functional as F

FORMAT_VERSION = "1"


class Attention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)

    def forward(self, x, attend):
        b, l, d = x.shape
        hd = d // self.heads
        q, k, v = self.qkv(x).view(b, l, 3, self.heads, hd).permute(2, 0, 3, 1, 4)
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
    def __init__(self, d, heads, f, p):
        super().__init__()
        self.norm1 = nn.LayerNorm(d, eps=1e-5)
        self.attention = Attention(d, heads)
        self.norm2 = nn.LayerNorm(d, eps=1e-5)
        self.ffn = FFN(d, f)
        self.drop = nn.Dropout(p)

    def forward(self, x, attend):
        x = x + self.drop(self.attention(self.norm1(x), attend))
        return x + self.drop(self.ffn(self.norm2(x)))


class SparseBranch(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embedding = nn.EmbeddingBag(cfg["buckets"], cfg["width"], mode="sum")
        self.use_norm = cfg["layer_norm"]
        if self.use_norm:
            self.norm = nn.LayerNorm(cfg["width"], eps=1e-5)
        self.gelu = cfg["activation"] == "gelu"

    def forward(self, indices, offsets, weights):
        x = self.embedding(indices, offsets, per_sample_weights=weights)
        if self.use_norm:
            x = self.norm(x)
        return F.gelu(x, approximate="tanh") if self.gelu else x


class Classifier(nn.Module):
    def __init__(self, config, dropout=0.0, sparse_dropout=0.0, hidden_dropout=0.0):
        super().__init__()
        self.config = config
        enc = config["encoder"]
        d = enc["d_model"]
        self.token_embedding = nn.Embedding(enc["vocab_size"], d)
        self.position_embedding = nn.Embedding(enc["max_length"], d)
        self.layers = nn.ModuleList([Layer(d, enc["heads"], enc["ffn_width"], dropout) for _ in range(enc["layers"])])
        self.final_norm = nn.LayerNorm(d, eps=1e-5)
        self.drop = nn.Dropout(dropout)
        self.sparse_cfg = config.get("sparse")
        z = d
        if self.sparse_cfg:
            self.sparse = SparseBranch(self.sparse_cfg)
            self.sparse_drop = nn.Dropout(sparse_dropout)
            z += self.sparse_cfg["width"]
        hw = config.get("hidden_width", 0)
        self.has_hidden = hw > 0
        if self.has_hidden:
            self.hidden = nn.Linear(z, hw)
            self.hidden_drop = nn.Dropout(hidden_dropout)
            z = hw
        self.head_names = [h["name"] for h in config["heads"]]
        self.heads = nn.ModuleDict({h["name"]: nn.Linear(z, h["classes"]) for h in config["heads"]})

    def forward(self, ids, lengths, sparse=None):
        """ids [B, L], lengths [B]; sparse = (indices, offsets, weights) or None.
        Returns a list of logits per head (config order)."""
        b, l = ids.shape
        positions = torch.arange(l, device=ids.device)
        valid = positions[None, :] < lengths[:, None]
        x = self.drop(self.token_embedding(ids) + self.position_embedding(positions)[None])
        # No padding in the batch: let SDPA take its fastest path (no mask).
        attend = None if bool(valid.all()) else valid[:, None, None, :]
        for layer in self.layers:
            x = layer(x, attend)
        h = self.final_norm(x)
        m = valid.to(h.dtype)[..., None]
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
        parts = [self.drop(pooled)]
        if self.sparse_cfg:
            if sparse is None:
                sparse = (torch.zeros(0, dtype=torch.long), torch.zeros(b, dtype=torch.long), torch.zeros(0))
            parts.append(self.sparse_drop(self.sparse(*sparse)))
        z = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        if self.has_hidden:
            z = self.hidden_drop(F.gelu(self.hidden(z), approximate="tanh"))
        return [self.heads[n](z) for n in self.head_names]


def loss_fn(logits, labels, smoothing, head_weights=None):
    """labels: list of [B] long tensors per head, -100 = no label."""
    total = 0.0
    for i, (lg, y) in enumerate(zip(logits, labels)):
        if bool((y >= 0).any()):
            w = 1.0 if head_weights is None else head_weights[i]
            total = total + w * F.cross_entropy(lg, y, ignore_index=-100, label_smoothing=smoothing)
    return total


def adamw_groups(model, weight_decay):
    """Decay 2-D weights except embeddings, like the Swift trainer."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() == 2 and "embedding" not in name else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def load_classifier(path, **dropouts):
    from safetensors import safe_open
    with safe_open(path, framework="pt") as f:
        meta = f.metadata()
        assert meta["format_version"] == FORMAT_VERSION and meta.get("model") == "intent_classifier", meta
        config = json.loads(meta["config"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    model = Classifier(config, **dropouts)
    model.load_state_dict(tensors, strict=True)
    return model, json.loads(meta["labels"]), meta["vocab_hash"]
