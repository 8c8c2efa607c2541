# Helpers shared by the bench scripts (sourced, not run).
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# The median of the numbers on stdin, one a line.
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
