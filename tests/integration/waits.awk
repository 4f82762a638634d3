# SPDX-License-Identifier: GPL-2.0
# perf script -F tid,event,trace of lock:contention_begin/end -> "lock waits repeats nested":
# one wait per outermost begin of a thread; a repeated begin on the lock it already
# waits for continues that wait, a begin on another lock meanwhile is nested.
# Addresses are compared as strings ("" a): awk would read 0x... as nearby equal doubles.
# With -v who=X the lines start with the thread's comm (perf script -F comm,tid,...) or
# its "pid/tid" (-F pid,tid,...), and only the threads whose comm or pid is X count.
who != "" { k = split($1, w, "/"); if (w[1] "" != who) next; $1 = k == 2 ? w[2] : ""; $0 = $0 }
$2 == "lock:contention_begin:" { t = $1; a = $3 ""
  if (open[t] == "") { open[t] = a; n[a]++ } else if (open[t] == a) dbl[a]++; else nest[a]++ }
$2 == "lock:contention_end:" { if (open[$1] == $3 "") open[$1] = "" }
END { for (a in n) print a, n[a], dbl[a] + 0, nest[a] + 0 }
