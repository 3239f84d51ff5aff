# Peers on the same GPU, model and prompts as `aded bench`: Hugging Face transformers' greedy decoding and its
# prompt lookup decoding (prompt_lookup_num_tokens), f16, 128 new tokens, batch 1. Prints one JSON line per method.
#
#   python3 aded-examples/gpu/peers.py MODEL_DIR PROMPTS_JSONL [MAX_NEW_TOKENS] [LIMIT]
import json, sys, time
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

def main():
    model_dir, prompts_file = sys.argv[1], sys.argv[2]
    max_new = int(sys.argv[3]) if len(sys.argv) > 3 else 128
    limit = int(sys.argv[4]) if len(sys.argv) > 4 else None
    prompts = [json.loads(l)["prompt"] for l in open(prompts_file) if l.strip()][:limit]
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float16).cuda().eval()
    methods = {"hf_greedy": {}, "hf_prompt_lookup": {"prompt_lookup_num_tokens": 10}}
    # Warm-up: kernels, allocator.
    ids = tok("def fibonacci(n):", return_tensors="pt").input_ids.cuda()
    for extra in methods.values():
        model.generate(ids, max_new_tokens=16, do_sample=False, **extra)
    totals = {m: [0, 0.0] for m in methods}
    outputs = {m: [] for m in methods}
    with torch.no_grad():
        for p in prompts:
            ids = tok(p, return_tensors="pt").input_ids.cuda()
            for name, extra in methods.items():  # methods take turns prompt by prompt, as aded bench's modes do
                torch.cuda.synchronize()
                t = time.perf_counter()
                out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new,
                                     do_sample=False, pad_token_id=tok.eos_token_id, **extra)
                torch.cuda.synchronize()
                totals[name][0] += out.shape[1] - ids.shape[1]
                totals[name][1] += time.perf_counter() - t
                outputs[name].append(out[0, ids.shape[1]:].tolist())
    same = sum(a == b for a, b in zip(outputs["hf_greedy"], outputs["hf_prompt_lookup"]))
    for name, (tokens, secs) in totals.items():
        print(json.dumps({"method": name, "prompts": len(prompts), "tokens": tokens, "seconds": round(secs, 3),
                          "tokens_per_second": round(tokens / secs, 1),
                          "identical_to_greedy": same if name != "hf_greedy" else len(prompts)}), flush=True)

if __name__ == "__main__":
    main()
