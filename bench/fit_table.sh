#!/usr/bin/env bash
# The `lowbit plan --fit` comparison table of the README: on each bundled model, for every uniform type
# and named llama.cpp mix, the KL divergence (against the F32 model) and perplexity on the evaluation
# text of that file and of the --fit mix given that file's size as its budget. --fit measures only on
# the calibration text; the evaluation text is used for this table alone.
#
# usage: bench/fit_table.sh [LOWBIT_BINARY]   (default: build/release/lowbit)
# env:   FIT_ARGS   extra arguments for `lowbit plan --fit` (e.g. "--fit-refine 100")
#        TYPES      the uniform types and named mixes to compare (space-separated)
#        EVAL_CHUNKS  score only the first N chunks of 128 tokens of the evaluation text (default: all)
#        MODELS     which bundled models: stories260K, tinystories-656K or both (space-separated)
#        KEEP_DIR   keep the files there instead of a temporary folder
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
lowbit=$(realpath "${1:-$root/build/release/lowbit}")
calib=$root/testdata/text/tinystories_valid_calib.txt
eval_text=$root/testdata/text/tinystories_valid_eval.txt
types=${TYPES:-"Q2_K Q3_K_S Q3_K_M Q3_K_L Q4_0 Q4_1 Q4_K_S Q4_K_M Q5_0 Q5_1 Q5_K_S Q5_K_M Q6_K Q8_0"}
read -r -a fit_args <<< "${FIT_ARGS:-}"
eval_chunks=${EVAL_CHUNKS:-0}
# One thread each: on a shared machine OpenMP's spinning only slows these tiny models down.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

if [[ -n "${KEEP_DIR:-}" ]]; then
  work=$KEEP_DIR
  mkdir -p "$work"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi

# "KLD PPL" of a model on the evaluation text against the reference log-probabilities $1.
kld_and_ppl() {
  "$lowbit" eval perplexity -m "$2" -f "$eval_text" --chunks "$eval_chunks" --kld-base "$1" --json 2>/dev/null | jq -r '"\(.kld.mean) \(.ppl)"'
}

declare -A model_paths=([stories260K]=$root/testdata/stories260K/stories260K.gguf
                        [tinystories-656K]=$root/testdata/tinystories-656K)
for name in ${MODELS:-stories260K tinystories-656K}; do
  model=${model_paths[$name]}
  ref=$work/$name.logits
  base_ppl=$("$lowbit" eval perplexity -m "$model" -f "$eval_text" --chunks "$eval_chunks" --save-logits "$ref" --json 2>/dev/null | jq -r .ppl)
  echo
  echo "$name (F32 perplexity $(printf %.4f "$base_ppl") on the evaluation text)"
  echo
  echo "| type | file bytes | KLD | PPL | --fit file bytes | --fit KLD | --fit PPL | --fit KLD vs type |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for type in $types; do
    uniform=$work/$name-$type.gguf
    label=$type
    # llama.cpp defines no fallback for legacy types: rows that their blocks do not divide stay F16.
    if ! "$lowbit" quantize "$model" "$uniform" --type "$type" >/dev/null 2>&1; then
      "$lowbit" quantize "$model" "$uniform" --type "$type" --tensor-type 'ffn_down=f16' >/dev/null 2>&1
      label="$type (ffn_down f16)"
    fi
    bytes=$(stat -c %s "$uniform")
    read -r kld ppl < <(kld_and_ppl "$ref" "$uniform")
    fit=$work/$name-fit-$bytes.gguf
    if [[ ! -f $fit.result ]]; then
      echo "$name: --fit $bytes ($type)" >&2
      "$lowbit" plan --fit "$bytes" -m "$model" --calib "$calib" -o "$fit" --sensitivity "$work/$name.sensitivity.json" \
        "${fit_args[@]}" >"$fit.report"
      echo "$(stat -c %s "$fit") $(kld_and_ppl "$ref" "$fit")" >"$fit.result"
    fi
    read -r fit_bytes fit_kld fit_ppl <"$fit.result"
    change=$(awk -v a="$fit_kld" -v b="$kld" 'BEGIN { printf "%+.1f%%", 100 * (a - b) / b }')
    printf "| %s | %d | %.5f | %.4f | %d | %.5f | %.4f | %s |\n" "$label" "$bytes" "$kld" "$ppl" "$fit_bytes" "$fit_kld" \
      "$fit_ppl" "$change"
  done
done
