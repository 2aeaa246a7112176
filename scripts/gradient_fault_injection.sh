#!/usr/bin/env bash
# Fault injection for the gradient and optimiser checks (issue 14).
#
# Applies, one at a time, a 1% error (or a small structural slip) to a single
# term of the hand-written backward pass (src/agent/lstm.rs, src/agent/a2c.rs,
# src/agent/critic.rs, src/agent/encoder.rs)
# or of the optimiser (src/agent/optim.rs), runs the test that must catch it,
# restores the file, and prints a table: fault -> failing tests (and, for the
# gradient checks, the tensors flagged), or NOT CAUGHT.
#
#   scripts/gradient_fault_injection.sh            # every fault (~1 min each: the crate rebuilds)
#   scripts/gradient_fault_injection.sh forget     # only faults whose label contains "forget"
#
# The files are edited in place (so that the normal build directory is reused)
# from a backup taken first; the backup is copied back after each fault and on
# exit, Ctrl-C or kill (trap), so the tree is left as it was, including any
# uncommitted edits. Do not build in this worktree while it runs. (Once, after
# an interrupted build, the next build failed to link with "undefined hidden
# symbol": an incremental-compilation glitch; `cargo clean -p pfc-metarl
# --release` fixes it.)
#
# Adding a fault (e.g. for the image encoder or the RPE critic): one line in
# FAULTS: label | file | exact text (must occur exactly once) | replacement | test.
set -euo pipefail
cd "$(dirname "$0")/.."

FAULTS=(
  # --- LSTM backward pass (src/agent/lstm.rs) ---
  "input gate dg[j] x1.01|src/agent/lstm.rs|dg[j] = dc * gc|dg[j] = 1.01 * dc * gc|agent_gradients"
  "forget gate dg[hh+j] x1.01|src/agent/lstm.rs|dg[hh + j] = dc * c_prev|dg[hh + j] = 1.01 * dc * c_prev|agent_gradients"
  "cell candidate dg[2hh+j] x1.01|src/agent/lstm.rs|dg[2 * hh + j] = dc * i|dg[2 * hh + j] = 1.01 * dc * i|agent_gradients"
  "output gate dg[3hh+j] x1.01|src/agent/lstm.rs|dg[3 * hh + j] = dh * tc|dg[3 * hh + j] = 1.01 * dh * tc|agent_gradients"
  "cell carry dc*f x1.01|src/agent/lstm.rs|self.dc[[local, j]] = dc * f;|self.dc[[local, j]] = 1.01 * dc * f;|agent_gradients"
  "dh->dc term x1.01|src/agent/lstm.rs|+ dh * o * (1.0 - tc * tc)|+ 1.01 * dh * o * (1.0 - tc * tc)|agent_gradients"
  "recurrent dh (W^T dg) x1.01|src/agent/lstm.rs|general_mat_mul(1.0, &dgt, &p.w|general_mat_mul(1.01, &dgt, &p.w|agent_gradients"
  "LSTM weight gradient x1.01|src/agent/lstm.rs|general_mat_mul(1.0, &dg.t(), &z|general_mat_mul(1.01, &dg.t(), &z|agent_gradients"
  # --- image encoder (src/agent/encoder.rs; the feature gradient in src/agent/lstm.rs) ---
  "encoder feature gradient (dgates W) x1.01|src/agent/lstm.rs|general_mat_mul(1.0, &dg, &w_feat|general_mat_mul(1.01, &dg, &w_feat|agent_gradients"
  "encoder W2 gradient x1.01|src/agent/encoder.rs|general_mat_mul(1.0, &df.t(), &a1|general_mat_mul(1.01, &df.t(), &a1|agent_gradients"
  "encoder b2 gradient x1.01|src/agent/encoder.rs|grad.b2.assign(&df.sum_axis(Axis(0)));|grad.b2.assign(&(df.sum_axis(Axis(0)) * 1.01));|agent_gradients"
  "encoder hidden gradient (W2^T df) x1.01|src/agent/encoder.rs|general_mat_mul(1.0, &df, &p.w2|general_mat_mul(1.01, &df, &p.w2|agent_gradients"
  "encoder ReLU mask lets zero units through|src/agent/encoder.rs|if a <= 0.0 {|if a < 0.0 {|agent_gradients"
  "encoder W1 gradient x1.01|src/agent/encoder.rs|general_mat_mul(1.0, &da1.t(), &input|general_mat_mul(1.01, &da1.t(), &input|agent_gradients"
  "encoder b1 gradient x1.01|src/agent/encoder.rs|grad.b1.assign(&da1.sum_axis(Axis(0)));|grad.b1.assign(&(da1.sum_axis(Axis(0)) * 1.01));|agent_gradients"
  # --- A2C loss and heads (src/agent/a2c.rs) ---
  "policy-logit gradient dl[k] x1.01|src/agent/a2c.rs|dl[k] = inv_b|dl[k] = 1.01 * inv_b|agent_gradients"
  "policy-gradient term of dl[k] x1.01|src/agent/a2c.rs|(-adv * (onehot - probs[k])|(-1.01 * adv * (onehot - probs[k])|agent_gradients"
  "entropy term of dl[k] x1.01|src/agent/a2c.rs|+ hyper.entropy_cost * probs[k]|+ 1.01 * hyper.entropy_cost * probs[k]|agent_gradients"
  "value gradient dv x1.01|src/agent/a2c.rs|bufs.dv[[row, 0]] = inv_b|bufs.dv[[row, 0]] = 1.01 * inv_b|agent_gradients"
  "value head -> h x1.01|src/agent/a2c.rs|general_mat_mul(1.0, &dv, &p.w_v|general_mat_mul(1.01, &dv, &p.w_v|agent_gradients"
  "policy head -> h x1.01|src/agent/a2c.rs|general_mat_mul(1.0, &dl, &p.w_pi|general_mat_mul(1.01, &dl, &p.w_pi|agent_gradients"
  "discount in returns x1.01|src/agent/a2c.rs|(rewards[row] + gamma * ret)|(rewards[row] + 1.01 * gamma * ret)|agent_gradients"
  # --- the RPE-input agent's critic (src/agent/critic.rs) and its baseline ---
  "critic value gradient dv x1.01|src/agent/critic.rs|self.dv[[row, 0]] = inv_b * cost * err;|self.dv[[row, 0]] = 1.01 * inv_b * cost * err;|agent_gradients"
  "critic value-head weight gradient x1.01|src/agent/critic.rs|general_mat_mul(1.0, &dv.t(), &h, 0.0, &mut grad.w_v);|general_mat_mul(1.01, &dv.t(), &h, 0.0, &mut grad.w_v);|agent_gradients"
  "critic value-head bias gradient x1.01|src/agent/critic.rs|grad.b_v.assign(&dv.sum_axis(Axis(0)));|grad.b_v.assign(&(dv.sum_axis(Axis(0)) * 1.01));|agent_gradients"
  "critic value head -> h x1.01|src/agent/critic.rs|general_mat_mul(1.0, &dv, &p.w_v, 0.0, &mut dh);|general_mat_mul(1.01, &dv, &p.w_v, 0.0, &mut dh);|agent_gradients"
  "critic baseline in the advantage x1.01|src/agent/a2c.rs|Some(b) => b[row],|Some(b) => 1.01 * b[row],|agent_gradients"
  # --- optimisers and clipping (src/agent/optim.rs) ---
  "lr x1.01|src/agent/optim.rs|(self.lr, self.decay, self.eps)|(self.lr * 1.01, self.decay, self.eps)|optimiser_reference"
  "eps x1.01|src/agent/optim.rs|(self.lr, self.decay, self.eps)|(self.lr, self.decay, self.eps * 1.01)|optimiser_reference"
  "RMSProp decay rho x1.01|src/agent/optim.rs|(self.lr, self.decay, self.eps)|(self.lr, self.decay * 1.01, self.eps)|optimiser_reference"
  "RMSProp (1-rho) x1.01|src/agent/optim.rs|+ (1.0 - rho) * g * g|+ 1.01 * (1.0 - rho) * g * g|optimiser_reference"
  "RMSProp eps outside the root|src/agent/optim.rs|/ (*ms + eps).sqrt()|/ ((*ms).sqrt() + eps)|optimiser_reference"
  "Adam beta1 x1.01|src/agent/optim.rs|(0.9f32, 0.999f32)|(0.909f32, 0.999f32)|optimiser_reference"
  "Adam beta2 x0.99|src/agent/optim.rs|(0.9f32, 0.999f32)|(0.9f32, 0.98901f32)|optimiser_reference"
  "Adam (1-beta1) x1.01 in beta1|src/agent/optim.rs|(0.9f32, 0.999f32)|(0.899f32, 0.999f32)|optimiser_reference"
  "Adam (1-beta2) x1.01 in beta2|src/agent/optim.rs|(0.9f32, 0.999f32)|(0.9f32, 0.99899f32)|optimiser_reference"
  "Adam m update (1-beta1) term x1.01|src/agent/optim.rs|+ (1.0 - b1) * g;|+ 1.01 * (1.0 - b1) * g;|optimiser_reference"
  "Adam v update (1-beta2) term x1.01|src/agent/optim.rs|+ (1.0 - b2) * g * g;|+ 1.01 * (1.0 - b2) * g * g;|optimiser_reference"
  "Adam bias correction c1 x1.01|src/agent/optim.rs|let c1 = 1.0 - b1.powi(self.step);|let c1 = 1.01 * (1.0 - b1.powi(self.step));|optimiser_reference"
  "Adam bias correction c2 x1.01|src/agent/optim.rs|let c2 = 1.0 - b2.powi(self.step);|let c2 = 1.01 * (1.0 - b2.powi(self.step));|optimiser_reference"
  "Adam eps inside the root|src/agent/optim.rs|/ ((*v / c2).sqrt() + eps)|/ (*v / c2 + eps).sqrt()|optimiser_reference"
  "clip scale x1.01|src/agent/optim.rs|grad.scale((clip / norm) as f32)|grad.scale((1.01 * clip / norm) as f32)|optimiser_reference"
  "clip threshold x1.01|src/agent/optim.rs|norm > clip|norm > 1.01 * clip|optimiser_reference"
)

filter="${1:-}"
backup="$(mktemp -d)"
files=(src/agent/lstm.rs src/agent/a2c.rs src/agent/optim.rs src/agent/critic.rs src/agent/encoder.rs)
for f in "${files[@]}"; do cp "$f" "$backup/$(basename "$f")"; done
echo "backup of src/agent in $backup (restored automatically; by hand only after kill -9)" >&2

restore() {
  # Plain cp (new mtime) so that cargo rebuilds from the restored sources.
  for f in "${files[@]}"; do
    cmp -s "$f" "$backup/$(basename "$f")" || cp "$backup/$(basename "$f")" "$f"
  done
}
cleanup() {
  restore
  rm -rf "$backup"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# sed needs the literal text escaped: in the pattern [ ] \ / . * ^ $, in the
# replacement \ / &.
esc_pat() { printf '%s' "$1" | sed 's/[][\/.*^$]/\\&/g'; }
esc_rep() { printf '%s' "$1" | sed 's/[\/&]/\\&/g'; }

run_test() { # test binary, log -> "PASS", "DOES NOT BUILD", or each failing test
  # with the worst error as a multiple of its tolerance where the test prints it
  local log="$2"
  if cargo test --release --locked --test "$1" -- --test-threads=1 >"$log" 2>&1; then
    echo PASS
  elif ! grep -q '^test result' "$log"; then
    echo "DOES NOT BUILD"
  else
    awk '
      /^test .* \.\.\. FAILED$/ { failed[++n] = $2 }
      /^---- .* stdout ----$/ { name = $2 }
      name != "" && !(name in ratio) && match($0, /worst error [0-9.]+ × tolerance/) {
        ratio[name] = substr($0, RSTART + 12, RLENGTH - 12)
      }
      END {
        for (i = 1; i <= n; i++) {
          out = out (i > 1 ? "<br>" : "") failed[i]
          if (failed[i] in ratio) out = out " (" ratio[failed[i]] ")"
        }
        print out
      }' "$log"
  fi
}

logdir="${TMPDIR:-/tmp}/gradient_fault_injection"
mkdir -p "$logdir"
rm -f "$logdir"/*.log
echo "baseline (no fault) ..." >&2
for t in agent_gradients optimiser_reference; do
  r="$(run_test "$t" "$logdir/baseline_$t.log")"
  if [[ "$r" != PASS ]]; then
    echo "baseline $t fails ($r): fix the tree first; log in $logdir/baseline_$t.log" >&2
    exit 1
  fi
done

rows=()
n=0
for spec in "${FAULTS[@]}"; do
  IFS='|' read -r label file from to test <<<"$spec"
  [[ -z "$filter" || "$label" == *"$filter"* ]] || continue
  count="$(grep -cF -- "$from" "$file" || true)"
  if [[ "$count" != 1 ]]; then
    rows+=("$label|$file|PATTERN FOUND $count TIMES (update this script)|")
    continue
  fi
  sed -i "s/$(esc_pat "$from")/$(esc_rep "$to")/" "$file"
  if cmp -s "$file" "$backup/$(basename "$file")"; then
    rows+=("$label|$file|SED DID NOT CHANGE THE FILE (update this script)|")
    continue
  fi
  n=$((n + 1))
  log="$logdir/fault_$n.log"
  echo "[$n] $label ..." >&2
  result="$(run_test "$test" "$log")"
  restore
  if [[ "$result" == PASS ]]; then
    rows+=("$label|$file|NOT CAUGHT|")
  else
    flagged="$({ grep -oE '(GRADCHECK|OPTCHECK) FAIL [^:[]+' "$log" || true; } |
      sed -E 's/^(GRADCHECK|OPTCHECK) FAIL //; s/ direction [0-9]+$//' | sort -u | paste -sd';' -)"
    rows+=("$label|$file|$result|$flagged")
  fi
done

printf '\n| fault | file | caught by (failing tests; worst error × tolerance) | flagged |\n|---|---|---|---|\n'
for r in "${rows[@]}"; do
  IFS='|' read -r a b c d <<<"$r"
  printf '| %s | %s | %s | %s |\n' "$a" "$b" "$c" "$d"
done
echo
echo "logs: $logdir"
