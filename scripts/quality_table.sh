#!/usr/bin/env bash
# Quality of stories260K quantized to a range of types: file size, bits per weight, perplexity and its
# change, mean KL divergence and top-1 agreement against the F32 model, in one table.
#
#   scripts/quality_table.sh [LOWBIT_BINARY]    (default build/release/lowbit; builds nothing)
#
# Environment: QUALITY_CHUNKS (default 100) chunks of 128 tokens of the evaluation text are scored.
# stories260K's ffn_down rows hold 172 elements, which no 32-element block divides: the K mixes fall
# back to F16 there by themselves (llama.cpp's fallback chain), the other types are told to with
# --tensor-type ffn_down=f16, as llama-quantize needs too.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lowbit="$(realpath "${1:-$root/build/release/lowbit}")"
[ -x "$lowbit" ] || { echo "quality_table.sh: no lowbit program at $lowbit (build it first)" >&2; exit 1; }
model="$root/testdata/stories260K/stories260K.gguf"
text="$root/testdata/text/tinystories_valid_eval.txt"
ctx=128
chunks="${QUALITY_CHUNKS:-100}"
# ggml's types and named mixes, then lowbit's own (llama.cpp cannot load those files).
types=(F16 Q8_0 Q6_K Q5_K_M Q4_K_M Q4_0 Q3_K_M Q2_K
       lb_fp8_e4m3_g32 lb_i8_sym_g32 lb_i4_asym_g32 lb_nf4_g64 lb_fp4_g64_f16 lb_i3_asym_g32 lb_i2_asym_g32)
k_mixes=" Q6_K Q5_K_M Q4_K_M Q3_K_M Q2_K F16 "

work="$(mktemp -d)"
started=$SECONDS
trap 'rm -rf "$work"' EXIT

echo "stories260K on $(basename "$text"): $chunks chunks of $ctx tokens, second halves scored (llama.cpp's method)"
"$lowbit" eval perplexity -m "$model" -f "$text" --ctx "$ctx" --chunks "$chunks" --save-logits "$work/f32.logits" \
  --json >"$work/F32.eval.json" 2>/dev/null
# The F32 row: the source model against itself.
"$lowbit" quantize "$model" "$work/F32.gguf" --type F32 --json >"$work/F32.quantize.json" 2>/dev/null

for type in "${types[@]}"; do
  extra=()
  [[ "$k_mixes" == *" $type "* ]] || extra=(--tensor-type ffn_down=f16)
  "$lowbit" quantize "$model" "$work/$type.gguf" --type "$type" "${extra[@]}" --json >"$work/$type.quantize.json" 2>/dev/null
  "$lowbit" eval perplexity -m "$work/$type.gguf" -f "$text" --ctx "$ctx" --chunks "$chunks" --kld-base "$work/f32.logits" \
    --json >"$work/$type.eval.json" 2>/dev/null
done

python3 - "$work" F32 "${types[@]}" <<'PY'
import json, math, sys
work, types = sys.argv[1], sys.argv[2:]
def load(name):
    with open(f"{work}/{name}") as f:
        return json.load(f)
print(f"{'type':<16} {'file size':>10} {'bpw':>7} {'PPL':>9} {'dPPL':>9} {'mean KLD':>10} {'top-1':>7}")
for t in types:
    q, e = load(f"{t}.quantize.json"), load(f"{t}.eval.json")
    tensors = q["tensors"]
    # Bits per weight of the tensor data alone: the file also holds the vocabulary.
    bpw = 8.0 * sum(x["bytes"] for x in tensors) / sum(math.prod(x["shape"]) for x in tensors)
    size = f"{q['totals']['file_bytes'] / 1024:.1f} KiB"
    if t == "F32":
        print(f"{t:<16} {size:>10} {bpw:>7.3f} {e['ppl']:>9.4f} {'(base)':>9} {'':>10} {'':>7}")
        continue
    k = e["kld"]
    print(f"{t:<16} {size:>10} {bpw:>7.3f} {e['ppl']:>9.4f} {k['delta_ppl']:>+9.4f} {k['mean']:>10.6f} {100 * k['top1_agreement']:>6.2f}%")
PY
echo "The K types need rows of 256 elements; stories260K's rows of 64 take llama.cpp's fallbacks (q6_K -> q8_0,"
echo "q4_K -> q5_0, q3_K/q2_K -> q4_0), so some mixes coincide on this model. bpw: tensor data only."
echo "($((SECONDS - started)) s)"
