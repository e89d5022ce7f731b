# run-cases.sh CASE...: run $LAB/cases/CASE.sh one after the other, each in its own session with a
# timeout of $LAB_CASE_TIMEOUT seconds (or what its "# lab-timeout: N" line says), the lab reset to
# its baseline before every case but the first (the boot brought it there). Output goes to $LAB/logs/CASE.log; the verdict to $LAB/results/CASE:
#   pass SECONDS | fail SECONDS exit CODE | timeout SECONDS | fail 0 reset (the baseline could not be restored)
# shellcheck shell=sh disable=SC1091
. /lab/guest/lib.sh
[ -f "$LAB/lab.conf" ] && . "$LAB/lab.conf"
LAB_CASE_TIMEOUT=${LAB_CASE_TIMEOUT:-120}
LAB_RUNNER_PID=$$
export LAB_RUNNER_PID LAB_CASE_TIMEOUT
mkdir -p "$LAB/logs" "$LAB/results"

# Centiseconds since boot.
now_cs() { awk '{ printf "%d", $1 * 100 }' /proc/uptime; }
verdict() {  # verdict CASE TEXT: atomically, so the host never reads half a line
  echo "$2" > "$LAB/results/$1.tmp" && mv "$LAB/results/$1.tmp" "$LAB/results/$1"
  echo "### lab: case $1 $2"
}

fresh=1
[ -f /run/lab/dirty ] && fresh=0
for c in "$@"; do
  rm -f "$LAB/results/$c"
  if [ "$fresh" = 0 ] && ! lab_reset > "$LAB/logs/$c.reset.log" 2>&1; then
    verdict "$c" "fail 0 reset"
    continue
  fi
  fresh=0
  touch /run/lab/dirty
  limit=$(sed -n 's/^# lab-timeout: *\([0-9][0-9]*\) *$/\1/p' "$LAB/cases/$c.sh" | head -n 1)
  limit=${limit:-$LAB_CASE_TIMEOUT}
  echo "### lab: start $c"
  t0=$(now_cs)
  timeout -s KILL "$limit" setsid sh "$LAB/cases/$c.sh" < /dev/null > "$LAB/logs/$c.log" 2>&1 &
  pid=$!
  wait "$pid"
  rc=$?
  kill -KILL "-$pid" 2>/dev/null   # whatever the case left running in its session (busybox: no --)
  t=$(($(now_cs) - t0))
  secs=$((t / 100)).$((t / 10 % 10))
  if [ "$rc" = 0 ]; then
    verdict "$c" "pass $secs"
  elif [ "$rc" = 137 ] && [ "$t" -ge $((limit * 100 - 100)) ]; then
    verdict "$c" "timeout $secs"
  else
    verdict "$c" "fail $secs exit $rc"
  fi
done
sync
