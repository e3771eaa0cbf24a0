# shellcheck shell=bash
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

# port_busy PORT: something accepts connections on 127.0.0.1:PORT. The scripts check their ports before they
# start a server: a server that cannot bind its port exits, and a readiness probe of the port would then pass
# against whatever else holds it.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# listens PID PORT: process PID itself holds a listening TCP socket on PORT (any address, IPv4 or IPv6).
# Readiness checks ask it as well as probing the port, so a probe that passes is known to have reached the
# process the script started, not another server that took the port after port_busy looked (or that our
# process lost the port to). It reads /proc/net/tcp{,6} (st 0A is LISTEN) for the socket inodes and looks for
# them among PID's open files.
listens() {
  local pid=$1 port inodes inode
  port=$(printf '%04X' "$2")
  [[ -d /proc/$pid/fd ]] || return 1
  inodes=$(awk -v p=":$port" '$4 == "0A" && substr($2, length($2) - 4) == p { print $10 }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null) || true # no tcp6 without IPv6: what tcp had still counts
  for inode in $inodes; do
    [[ -n $(find "/proc/$pid/fd" -maxdepth 1 -lname "socket:\[$inode\]" -print -quit 2>/dev/null) ]] && return 0
  done
  return 1
}
