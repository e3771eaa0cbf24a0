# proc.sh - process helpers shared by the scripts (sourced, not run).

# alive PID: the process exists and is not a zombie (a dead child of PID 1 can stay a zombie for seconds, and
# kill -0 still succeeds on it).
alive() {
  local stat
  kill -0 "$1" 2>/dev/null || return 1
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}
