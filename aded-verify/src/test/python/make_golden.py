"""Makes the golden test data for aded-verify: tiny random Hugging Face models of each supported config
variant, with transformers' logits for a fixed token sequence, and reference logits of the real code-15m model.

Run from the repository root with a local torch + transformers (CPU):
    python3 -m venv v && v/bin/pip install torch transformers
    v/bin/python aded-verify/src/test/python/make_golden.py
Outputs go to aded-verify/src/test/resources/golden/ (committed).
"""
import json
import pathlib
import struct

import torch
from transformers import AutoConfig, AutoModelForCausalLM

ROOT = pathlib.Path(__file__).resolve().parents[4]
OUT = ROOT / "aded-verify/src/test/resources/golden"
SEQ = 48

BASE = dict(vocab_size=128, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-5, bos_token_id=1,
            eos_token_id=2, tie_word_embeddings=False)

# name: (model_type, overrides, weight dtype, config style for RoPE, max shard size)
VARIANTS = {
    "llama-gqa-untied": ("llama", {}, torch.float32, "parameters", None),
    "llama-tied-toplevel-rope": ("llama", dict(tie_word_embeddings=True), torch.float32, "toplevel", None),
    "llama-f16": ("llama", {}, torch.float16, "parameters", None),
    "llama-bf16": ("llama", {}, torch.bfloat16, "parameters", None),
    "llama-head-dim": ("llama", dict(head_dim=32), torch.float32, "parameters", None),
    "llama-rope-linear": ("llama", dict(rope_parameters=dict(rope_type="linear", rope_theta=10000.0, factor=2.0)),
                          torch.float32, "toplevel", None),
    "llama-rope-llama3": ("llama", dict(rope_parameters=dict(rope_type="llama3", rope_theta=500000.0, factor=8.0,
                                                             low_freq_factor=1.0, high_freq_factor=4.0,
                                                             original_max_position_embeddings=32)),
                          torch.float32, "parameters", None),
    "llama-sharded": ("llama", {}, torch.float32, "parameters", "60KB"),
    "mistral": ("mistral", dict(sliding_window=None), torch.float32, "toplevel", None),
    "qwen2-bias": ("qwen2", dict(tie_word_embeddings=True), torch.float32, "parameters", None),
}


def restyle_rope(folder, style):
    """Writes RoPE the old way (top-level rope_theta and rope_scaling) when asked, as older checkpoints do."""
    path = folder / "config.json"
    cfg = json.loads(path.read_text())
    params = cfg.get("rope_parameters") or {}
    if style == "toplevel":
        cfg.pop("rope_parameters", None)
        cfg["rope_theta"] = params.get("rope_theta", 10000.0)
        if params.get("rope_type", "default") != "default":
            scaling = {k: v for k, v in params.items() if k != "rope_theta"}
            cfg["rope_scaling"] = scaling
    path.write_text(json.dumps(cfg, indent=2))


def write_floats(path, tensor):
    values = tensor.detach().to(torch.float32).flatten().tolist()
    path.write_bytes(struct.pack("<%df" % len(values), *values))


def make_variant(name, model_type, overrides, dtype, style, shard):
    torch.manual_seed(len(name))
    cfg = AutoConfig.for_model(model_type, **{**BASE, **overrides})
    model = AutoModelForCausalLM.from_config(cfg).eval()
    with torch.no_grad():  # larger weights than the init's 0.02 so that differences show up in the logits
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(0, 0.2)
            elif "bias" in str(p):
                p.normal_(0, 0.1)
    model = model.to(dtype)
    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    kwargs = dict(max_shard_size=shard) if shard else {}
    model.save_pretrained(folder, **kwargs)
    restyle_rope(folder, style)
    ids = torch.tensor([[1] + [(i * 37 + 11) % (BASE["vocab_size"] - 3) + 3 for i in range(SEQ - 1)]])
    # Reloaded from the folder in float32, as a user would: casting the in-memory model instead would also round
    # RoPE's inverse frequencies to the weights' dtype.
    reloaded = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    with torch.no_grad():
        logits = reloaded(ids).logits[0]
    (folder / "input_ids.json").write_text(json.dumps(ids[0].tolist()))
    write_floats(folder / "logits.f32", logits)


def make_code15m():
    folder = ROOT / "aded-examples/models/code-15m"
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(folder)
    prompts = [json.loads(l)["prompt"] for l in (ROOT / "aded-examples/data/code-dev.jsonl").read_text().splitlines()[:3]]
    out = OUT / "code-15m"
    out.mkdir(parents=True, exist_ok=True)
    cases = []
    for i, p in enumerate(prompts):
        ids = tok(p)["input_ids"]
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0, -1]
        write_floats(out / f"prompt{i}.f32", logits)
        cases.append(dict(prompt=p, input_ids=ids))
    (out / "cases.json").write_text(json.dumps(cases, indent=1))


if __name__ == "__main__":
    for name, spec in VARIANTS.items():
        make_variant(name, *spec)
    make_code15m()
    print("wrote", OUT)
