#!/usr/bin/env bash
# The speed table of the README: for each type, a TinyLlama-1.1B-shaped model with random weights
# (`lowbit synth`, nothing to download) benchmarked with `lowbit bench -t THREADS -p PROMPT -n 32`; one row
# per type with prefill and decode tokens/s (median), decode GB/s of weights and its share of the
# bandwidth the same command measured, next to llama.cpp's figures: with LLAMA_BENCH, `llama-bench -p
# PROMPT -n 32` on the same file with the same threads, run right after lowbit's (median of its samples);
# without it, the figures of ../shared/bench (another machine of the same kind, -p 128 only). Compare
# ratios, not single runs: these machines are shared and noisy. With ROUNDS > 1 the two programs take
# turns ROUNDS times per type, each figure is the median over the rounds, and a last column counts the
# rounds in which lowbit was ahead (prefill / decode): a neighbour's load then shifts both programs'
# figures of a round, not one program's.
#
# usage: bench/speed_table.sh [LOWBIT_BINARY]   (default: build/release/lowbit)
# env:   TYPES        types or named mixes (default "Q4_0 Q8_0 Q4_K_M F16 BF16")
#        THREADS      threads (default 2)
#        REPETITIONS  runs per figure (default 5)
#        PROMPT       prefill tokens (default 128; llama-bench's own default is 512)
#        MODEL_DIR    where the synthetic models are kept between runs (default /tmp/lowbit-speed)
#        LLAMA_BENCH  a llama-bench program (bench/fetch_llama_bench.sh builds one)
#        ROUNDS       turns of lowbit and llama-bench per type (default 1; more needs LLAMA_BENCH)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
lowbit=$(realpath "${1:-$root/build/release/lowbit}")
types=${TYPES:-"Q4_0 Q8_0 Q4_K_M F16 BF16"}
threads=${THREADS:-2}
repetitions=${REPETITIONS:-5}
prompt=${PROMPT:-128}
model_dir=${MODEL_DIR:-/tmp/lowbit-speed}
rounds=${ROUNDS:-1}
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
[[ -n $llama_bench || $rounds == 1 ]] || { echo "speed_table.sh: ROUNDS > 1 compares turns with llama-bench; set LLAMA_BENCH" >&2; exit 1; }

# The median of the arguments, one decimal (nothing where they are empty: a type ../shared/bench lacks).
median() {
  printf '%s\n' "$@" | grep -v '^$' | sort -g |
    awk '{v[NR] = $1} END {if (NR) printf "%.1f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

header="| type | prefill pp$prompt t/s | $llama_label | decode tg32 t/s | $llama_label | decode GB/s of weights | of measured bandwidth |"
rule="|---|---:|---:|---:|---:|---:|---:|"
if ((rounds > 1)); then
  header+=" lowbit ahead (prefill / decode) |"
  rule+="---:|"
fi
echo "$header"
echo "$rule"
for type in $types; do
  model=$model_dir/tinyllama-$type.gguf
  [[ -f $model ]] || "$lowbit" synth --shape tinyllama-1.1b --type "$type" -o "$model" >/dev/null
  pp=() tg=() gbs=() eff=() llama_pp=() llama_tg=()
  prefill_ahead=0 decode_ahead=0
  for ((round = 0; round < rounds; ++round)); do
    read -r p t g e < <("$lowbit" bench -m "$model" -t "$threads" -p "$prompt" -n 32 -r "$repetitions" --json | jq -r \
      '"\(.prefill_tokens_per_second.median) \(.decode_tokens_per_second.median) \(.decode_weight_bytes_per_second / 1e9) \(.decode_efficiency * 100)"')
    pp+=("$p") tg+=("$t") gbs+=("$g") eff+=("$e")
    if [[ -n $llama_bench ]]; then
      read -r lp lt < <("$llama_bench" -m "$model" -t "$threads" -p "$prompt" -n 32 -r "$repetitions" -o json \
        2>/dev/null | jq -r 'map(.samples_ts | sort | .[length / 2 | floor]) | join(" ")')
      llama_pp+=("$lp") llama_tg+=("$lt")
      awk -v a="$p" -v b="$lp" 'BEGIN {exit !(a > b)}' && prefill_ahead=$((prefill_ahead + 1))
      awk -v a="$t" -v b="$lt" 'BEGIN {exit !(a > b)}' && decode_ahead=$((decode_ahead + 1))
    else
      llama_pp+=("${llama_prefill[$type,$threads]:-}") llama_tg+=("${llama_decode[$type,$threads]:-}")
    fi
  done
  row="| $type | $(median "${pp[@]}") | $(median "${llama_pp[@]}") | $(median "${tg[@]}") | $(median "${llama_tg[@]}") | $(median "${gbs[@]}") | $(median "${eff[@]}")% |"
  ((rounds > 1)) && row+=" $prefill_ahead/$rounds / $decode_ahead/$rounds |"
  echo "$row"
done
