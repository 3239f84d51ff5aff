"""Writes a Hugging Face Llama checkpoint of the 7B shape with random f16 weights, for benchmarks of what a pass costs
when its weights, not the host, bound it (issue 14's 7B target: concurrency on a model whose pass reads 13 GB).

    python3 random-llama.py TOKENIZER_MODEL_DIR OUT_DIR [max_positions]

The shape is Llama-2-7B's (4096 wide, 32 layers, 32 query and key/value heads, MLP 11008, untied head) but for the
vocabulary, which is the tokenizer's (code-15m's 8,192 rather than 32,000), so that every token the model picks can
be decoded and the datastore built with that tokenizer drafts for it. Its text is meaningless; its cost is a 7B
model's (within the head's 2% of the weights).
"""
import json
import shutil
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import save_file


def main():
    src, dst = Path(sys.argv[1]), Path(sys.argv[2])
    positions = int(sys.argv[3]) if len(sys.argv) > 3 else 1024
    source = json.loads((src / "config.json").read_text())
    hidden, inter, layers, heads, vocab = 4096, 11008, 32, 32, source["vocab_size"]
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": hidden,
        "intermediate_size": inter,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": heads,
        "head_dim": hidden // heads,
        "vocab_size": vocab,
        "max_position_embeddings": positions,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "hidden_act": "silu",
        "torch_dtype": "float16",
        "bos_token_id": source.get("bos_token_id"),
        "eos_token_id": source.get("eos_token_id"),
    }
    dst.mkdir(parents=True, exist_ok=True)
    (dst / "config.json").write_text(json.dumps(config, indent=2))
    for name in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        if (src / name).exists():
            shutil.copy(src / name, dst / name)

    start = time.time()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    gen = torch.Generator(device=device).manual_seed(0)

    def rand(*shape):
        # Hugging Face's initializer_range; made on the GPU, where 6.7 billion normals take a moment
        return (torch.randn(*shape, generator=gen, device=device, dtype=torch.float32) * 0.02).half().cpu()

    tensors = {"model.embed_tokens.weight": rand(vocab, hidden), "lm_head.weight": rand(vocab, hidden),
               "model.norm.weight": torch.ones(hidden, dtype=torch.float16)}
    for l in range(layers):
        p = f"model.layers.{l}."
        for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
            tensors[p + f"self_attn.{proj}.weight"] = rand(hidden, hidden)
        tensors[p + "mlp.gate_proj.weight"] = rand(inter, hidden)
        tensors[p + "mlp.up_proj.weight"] = rand(inter, hidden)
        tensors[p + "mlp.down_proj.weight"] = rand(hidden, inter)
        tensors[p + "input_layernorm.weight"] = torch.ones(hidden, dtype=torch.float16)
        tensors[p + "post_attention_layernorm.weight"] = torch.ones(hidden, dtype=torch.float16)
    save_file(tensors, str(dst / "model.safetensors"), metadata={"format": "pt"})
    params = sum(t.numel() for t in tensors.values())
    print(f"wrote {dst}: {params / 1e9:.2f} B parameters, {params * 2 / 1e9:.1f} GB, in {time.time() - start:.1f} s")


if __name__ == "__main__":
    main()
