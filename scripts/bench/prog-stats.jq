# The --prog-stats of a kvmlockstat record (its optional "prog_stats" field) as
# "prog-stats:" lines: one per program (name, run_cnt, run_time_ns), the total
# (run_cnt, run_time_ns, events/s, seconds) and kvmlockstat's own cost.
# Usage: jq -r -f scripts/bench/prog-stats.jq RUN.json
.prog_stats // empty
| ([.programs[].run_cnt] | add // 0) as $runs
| ([.programs[].run_time_ns] | add // 0) as $ns
| (.programs[] | "prog-stats: \(.name) run_cnt \(.run_cnt) run_time_ns \(.run_time_ns)"),
  "prog-stats: total run_cnt \($runs) run_time_ns \($ns) events/s \(if .seconds > 0 then $runs / .seconds | round else 0 end) over \(.seconds) s",
  "prog-stats: kvmlockstat user_s \(.self.user_s * 1000 | round / 1000) sys_s \(.self.sys_s * 1000 | round / 1000) maxrss_kb \(.self.maxrss_kb)"
