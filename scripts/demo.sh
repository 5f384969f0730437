#!/usr/bin/env bash
# The main job on the bundled real models: what quantization costs each tensor of stories260K, text
# generation and perplexity of both models, then the model quantized to a range of types with its size,
# perplexity and KL divergence against F32. Installs missing Debian packages and builds first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
install_missing_packages
cd "$LOWBIT_ROOT"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
echo "Building lowbit (Release) ..."
build_lowbit build/release >/dev/null
lowbit=build/release/lowbit
stories=testdata/stories260K/stories260K.bin
tinystories=testdata/tinystories-656K
eval_text=testdata/text/tinystories_valid_eval.txt

section() { printf '\n==== %s\n\n' "$*"; }

section "Quantization error of every tensor of stories260K (llama2.c file), int4 asymmetric, groups of 32"
"$lowbit" inspect "$stories" --error int4-asym-g32

section "The same weights under other schemes (all matrices together)"
printf '%-28s %8s %12s %12s %12s %9s\n' scheme bpw "max error" "clip MSE" "round MSE" "SQNR dB"
for scheme in int8-sym-channel int8-asym-g32 int4-sym-channel int4-asym-g64 int4-asym-g64-mse int3-asym-g64 \
              int2-asym-g64-mse nf4-g64 nf4-g64-dq fp4-g64 log2-4-g64 fp8-e4m3 fp8-e5m2; do
  "$lowbit" inspect "$stories" --error "$scheme" --json | python3 -c '
import json, sys
e = json.load(sys.stdin)["error"]
sqnr = "exact" if e["sqnr_db"] is None else "%.2f" % e["sqnr_db"]
print("%-28s %8.3f %12.3e %12.3e %12.3e %9s" % (e["scheme"], e["bits_per_weight"], e["max_abs_error"],
      e["clip_mse"], e["rounding_mse"], sqnr))'
done

section "Greedy generation: stories260K (llama2.c .bin)"
"$lowbit" run -m "$stories" -p "Once upon a time" -n 96 --temp 0
section "Greedy generation: TinyStories-656K (Hugging Face folder)"
"$lowbit" run -m "$tinystories" -p "" -n 96 --temp 0

section "Perplexity on the evaluation text (llama.cpp's method, context 128)"
echo "stories260K:";      "$lowbit" eval perplexity -m "$stories" -f "$eval_text" --ctx 128 2>/dev/null
echo "TinyStories-656K:"; "$lowbit" eval perplexity -m "$tinystories" -f "$eval_text" --ctx 128 2>/dev/null
if [ -x scripts/quality_table.sh ]; then
  section "stories260K quantized to each type: size, perplexity, KL divergence and top-1 agreement against F32"
  scripts/quality_table.sh "$lowbit"
fi

section "Calibration: TinyStories-656K at 3 bits (lb_i3_asym_g64), round to nearest vs the calibration methods"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
calib_text=testdata/text/tinystories_valid_calib.txt
"$lowbit" calibrate -m "$tinystories" -f "$calib_text" --tokens 16384 --ctx 128 -o "$work/stats" 2>/dev/null
"$lowbit" eval perplexity -m "$tinystories" -f "$eval_text" --ctx 128 --chunks 50 --save-logits "$work/f32.logits" \
  >/dev/null 2>&1
printf '%-30s %9s %10s %8s\n' method PPL "mean KLD" top-1
for method in none rtn gptq awq awq+gptq; do
  args=(--type lb_i3_asym_g64)
  [ "$method" = none ] || args+=(--method "$method" --calib "$work/stats")
  "$lowbit" quantize "$tinystories" "$work/q.gguf" "${args[@]}" >/dev/null 2>&1
  "$lowbit" eval perplexity -m "$work/q.gguf" -f "$eval_text" --ctx 128 --chunks 50 --kld-base "$work/f32.logits" \
    --json 2>/dev/null | python3 -c '
import json, sys
method = {"none": "round to nearest, no stats", "rtn": "rtn, importance-weighted"}.get(sys.argv[1], sys.argv[1])
e = json.load(sys.stdin)
print("%-30s %9.4f %10.6f %7.2f%%" % (method, e["ppl"], e["kld"]["mean"], 100 * e["kld"]["top1_agreement"]))' "$method"
done
