#!/usr/bin/env bash
# Calibration-based quantization against round-to-nearest on both bundled models: each is calibrated on
# the calibration text, quantized without statistics (plain round to nearest) and with every method
# (rtn with --calib: rows weighted by the channels' mean squares) at 4, 3 and 2 bits (lowbit's
# asymmetric integer types, groups of 32 and 64 and per channel: lb_i*_asym_row) and as SmoothQuant W8A8 (static and dynamic
# activations), then scored
# on the evaluation text against its F32 self: perplexity and its change, mean KL divergence, top-1
# agreement, and the quantization time. One markdown table per model.
#
#   bench/calib_table.sh [LOWBIT_BINARY]    (default build/release/lowbit; builds nothing)
#
# Environment: QUALITY_CHUNKS (default 100) chunks of 128 tokens of the evaluation text are scored;
# CALIB_TOKENS (default 16384) tokens of the calibration text are calibrated on. Methods the program
# does not list in `quantize --help` are skipped with a note. stories260K's ffn_down rows hold 172
# elements, which no 32- or 64-element group divides: they stay F16 in every row of its table.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lowbit="$(realpath "${1:-$root/build/release/lowbit}")"
[ -x "$lowbit" ] || { echo "calib_table.sh: no lowbit program at $lowbit (build it first)" >&2; exit 1; }
calib="$root/testdata/text/tinystories_valid_calib.txt"
text="$root/testdata/text/tinystories_valid_eval.txt"
ctx=128
chunks="${QUALITY_CHUNKS:-100}"
calib_tokens="${CALIB_TOKENS:-16384}"
methods=(rtn gptq awq awq+gptq)
types=(lb_i4_asym_g32 lb_i4_asym_g64 lb_i4_asym_row lb_i3_asym_g32 lb_i3_asym_g64 lb_i3_asym_row
       lb_i2_asym_g32 lb_i2_asym_g64 lb_i2_asym_row)

work="$(mktemp -d)"
started=$SECONDS
trap 'rm -rf "$work"' EXIT

help="$("$lowbit" quantize --help)"
has_method() {  # every part of A+B is a row of the method table
  local part
  for part in ${1//+/ }; do
    grep -q -- "--method.*[ ;]$part (" <<<"$help" || return 1
  done
}

# quantize_and_score NAME MODEL EVAL_ARGS... -- QUANTIZE_ARGS...: one row's files under $work/NAME.*
quantize_and_score() {
  local name="$1" model="$2"
  shift 2
  local eval_args=()
  while [ "$1" != "--" ]; do eval_args+=("$1"); shift; done
  shift
  "$lowbit" quantize "$model" "$work/$name.gguf" "$@" --json >"$work/$name.quantize.json" 2>"$work/$name.log"
  "$lowbit" eval perplexity -m "$work/$name.gguf" -f "$text" --ctx "$ctx" --chunks "$chunks" \
    --kld-base "$work/f32.logits" "${eval_args[@]}" --json >"$work/$name.eval.json" 2>>"$work/$name.log"
  rm -f "$work/$name.gguf"
}

for model_name in stories260K tinystories-656K; do
  case "$model_name" in
    stories260K) model="$root/testdata/stories260K/stories260K.gguf"; extra=(--tensor-type ffn_down=f16) ;;
    *) model="$root/testdata/tinystories-656K"; extra=() ;;
  esac
  "$lowbit" calibrate -m "$model" -f "$calib" --tokens "$calib_tokens" --ctx "$ctx" -o "$work/stats" >/dev/null 2>&1
  "$lowbit" eval perplexity -m "$model" -f "$text" --ctx "$ctx" --chunks "$chunks" --save-logits "$work/f32.logits" \
    --json >"$work/f32.eval.json" 2>/dev/null
  rows=()
  for type in "${types[@]}"; do  # the baseline: round to nearest without statistics
    quantize_and_score "$model_name.plain.$type" "$model" -- --type "$type" "${extra[@]}"
    rows+=("$model_name.plain.$type|rtn, no stats|$type")
  done
  for method in "${methods[@]}"; do
    if ! has_method "$method"; then
      echo "note: method $method is not in this lowbit's method table; skipped" >&2
      continue
    fi
    for type in "${types[@]}"; do
      name="$model_name.$method.$type"
      quantize_and_score "$name" "$model" -- --type "$type" "${extra[@]}" --method "$method" --calib "$work/stats"
      label="$method"
      [ "$method" = rtn ] && label="rtn, importance-weighted"
      rows+=("$name|$label|$type")
    done
  done
  # W8A8: int8 rows with int8 activations; round-to-nearest first, then SmoothQuant.
  for act in dynamic static; do
    for method in rtn smoothquant; do
      [ "$method" = rtn ] && [ "$act" = static ] && continue  # static scales come from SmoothQuant's rewrite
      if ! has_method "$method"; then
        echo "note: method $method is not in this lowbit's method table; skipped" >&2
        continue
      fi
      name="$model_name.$method.w8a8-$act"
      quantize_and_score "$name" "$model" --act-quant "$act" -- --type lb_w8_row "${extra[@]}" --method "$method" \
        --act-quant "$act" --calib "$work/stats"
      rows+=("$name|$method|lb_w8_row, $act int8 activations")
    done
  done

  python3 - "$work" "$model_name" "$chunks" "$calib_tokens" "${rows[@]}" <<'PY'
import json, math, sys
work, model, chunks, calib_tokens, rows = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
def load(name):
    with open(f"{work}/{name}") as f:
        return json.load(f)
base = load("f32.eval.json")
print(f"\n### {model}: F32 PPL {base['ppl']:.4f} ({chunks} chunks of 128 tokens; calibrated on {calib_tokens} tokens)\n")
print("| method | type | bpw | PPL | ΔPPL | mean KLD | top-1 | quantize s |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for row in rows:
    name, method, label = row.split("|")
    q, e = load(f"{name}.quantize.json"), load(f"{name}.eval.json")
    tensors = q["tensors"]
    # Bits per weight of the tensor data alone: the file also holds the vocabulary.
    bpw = 8.0 * sum(x["bytes"] for x in tensors) / sum(math.prod(x["shape"]) for x in tensors)
    k = e["kld"]
    print(f"| {method} | {label} | {bpw:.3f} | {e['ppl']:.4f} | {k['delta_ppl']:+.4f} | {k['mean']:.6f} | "
          f"{100 * k['top1_agreement']:.2f}% | {q['totals']['seconds']:.2f} |")
PY
done
echo
echo "lb_i*_asym_row: one scale and zero point per row (per channel), repeated in every 64-element block, so its bpw"
echo "column counts the repetition (as group 64 does); one copy per row would cost 24 bits / row length."
echo "($((SECONDS - started)) s)"
