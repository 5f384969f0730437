#!/usr/bin/env bash
# The speed table of the README: for each type, a TinyLlama-1.1B-shaped model with random weights
# (`lowbit synth`, nothing to download) benchmarked with `lowbit bench -t THREADS -p PROMPT -n 32`; one row
# per type with prefill and decode tokens/s (median), decode GB/s of weights and its share of the
# bandwidth the same command measured, next to llama.cpp's figures: with LLAMA_BENCH, `llama-bench -p
# PROMPT -n 32` on the same file with the same threads, run right after lowbit's (median of its samples);
# without it, the figures of ../shared/bench (another machine of the same kind, -p 128 only). Compare
# ratios, not single runs: these machines are shared and noisy.
#
# usage: bench/speed_table.sh [LOWBIT_BINARY]   (default: build/release/lowbit)
# env:   TYPES        types or named mixes (default "Q4_0 Q8_0 Q4_K_M F16 BF16")
#        THREADS      threads (default 2)
#        REPETITIONS  runs per figure (default 5)
#        PROMPT       prefill tokens (default 128; llama-bench's own default is 512)
#        MODEL_DIR    where the synthetic models are kept between runs (default /tmp/lowbit-speed)
#        LLAMA_BENCH  a llama-bench program (bench/fetch_llama_bench.sh builds one)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
lowbit=$(realpath "${1:-$root/build/release/lowbit}")
types=${TYPES:-"Q4_0 Q8_0 Q4_K_M F16 BF16"}
threads=${THREADS:-2}
repetitions=${REPETITIONS:-5}
prompt=${PROMPT:-128}
model_dir=${MODEL_DIR:-/tmp/lowbit-speed}
mkdir -p "$model_dir"

# llama.cpp's llama-bench -p 128 -n 32 on a machine of this kind (../shared/bench/llamacpp-cpu.md).
declare -A llama_prefill=([Q4_0,2]=136.9 [Q8_0,2]=107.0 [Q4_K_M,2]=123.5 [F16,2]=92.4
                          [Q4_0,1]=68.7 [Q8_0,1]=53.5 [Q4_K_M,1]=63.5 [F16,1]=47.8)
declare -A llama_decode=([Q4_0,2]=52.4 [Q8_0,2]=25.0 [Q4_K_M,2]=52.5 [F16,2]=16.1
                         [Q4_0,1]=31.6 [Q8_0,1]=14.7 [Q4_K_M,1]=34.0 [F16,1]=12.4)

llama_bench=${LLAMA_BENCH:-}
llama_label="llama.cpp (../shared/bench)"
[[ -z $llama_bench ]] || llama_label="llama.cpp (here)"
[[ -n $llama_bench || $prompt == 128 ]] || { echo "speed_table.sh: ../shared/bench has llama.cpp's figures for PROMPT=128 only; set LLAMA_BENCH" >&2; exit 1; }

echo "| type | prefill pp$prompt t/s | $llama_label | decode tg32 t/s | $llama_label | decode GB/s of weights | of measured bandwidth |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for type in $types; do
  model=$model_dir/tinyllama-$type.gguf
  [[ -f $model ]] || "$lowbit" synth --shape tinyllama-1.1b --type "$type" -o "$model" >/dev/null
  lowbit_json=$("$lowbit" bench -m "$model" -t "$threads" -p "$prompt" -n 32 -r "$repetitions" --json)
  llama_pp=${llama_prefill[$type,$threads]:-}
  llama_tg=${llama_decode[$type,$threads]:-}
  if [[ -n $llama_bench ]]; then
    read -r llama_pp llama_tg < <("$llama_bench" -m "$model" -t "$threads" -p "$prompt" -n 32 -r "$repetitions" -o json \
      2>/dev/null | jq -r 'map(.samples_ts | sort | .[length / 2 | floor] * 10 | round / 10) | join(" ")')
  fi
  jq -r --arg type "$type" --arg lp "$llama_pp" --arg ld "$llama_tg" <<<"$lowbit_json" \
      '"| \($type) | \(.prefill_tokens_per_second.median * 10 | round / 10) | \($lp) | \(.decode_tokens_per_second.median * 10 | round / 10) | \($ld) | \(.decode_weight_bytes_per_second / 1e8 | round / 10) | \(.decode_efficiency * 1000 | round / 10)% |"'
done
