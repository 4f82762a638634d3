# SPDX-License-Identifier: GPL-2.0
# perf script -F tid,event,trace of lock:contention_begin/end -> "lock waits repeats nested":
# one wait per outermost begin of a thread; a repeated begin on the lock it already
# waits for continues that wait, a begin on another lock meanwhile is nested.
# Addresses are compared as strings ("" a): awk would read 0x... as nearby equal doubles.
$2 == "lock:contention_begin:" { t = $1; a = $3 ""
  if (open[t] == "") { open[t] = a; n[a]++ } else if (open[t] == a) dbl[a]++; else nest[a]++ }
$2 == "lock:contention_end:" { if (open[$1] == $3 "") open[$1] = "" }
END { for (a in n) print a, n[a], dbl[a] + 0, nest[a] + 0 }
