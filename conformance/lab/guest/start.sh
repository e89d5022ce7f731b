# Run by guest/init from the 9p share: bring the lab to its baseline, then run the cases listed in
# $LAB/lab.conf (kernel command line lab.mode=run) or give the console an interactive shell
# (lab.mode=shell). Console lines starting with "### lab:" are read by the host.
# shellcheck shell=sh disable=SC1091
. /lab/guest/lib.sh
[ -f "$LAB/lab.conf" ] && . "$LAB/lab.conf"
mkdir -p "$LAB/logs" "$LAB/results"
uptime_s() { cut -d' ' -f1 /proc/uptime; }

if ! lab_baseline > "$LAB/logs/baseline.log" 2>&1; then
  echo "### lab: baseline failed at $(uptime_s)s:"
  cat "$LAB/logs/baseline.log"
  exit 1
fi
echo "### lab: ready $(uptime_s)"

case " $(cat /proc/cmdline) " in
  *" lab.mode=shell "*)
    echo "lab shell: the lab library is loaded (lab_pf, lab_vf_pci N, cni ...; see $LAB/guest/lib.sh)."
    echo "Run cases with: sh $LAB/guest/run-cases.sh NN-name ...   Leave with: exit (powers off)"
    ENV=$LAB/guest/lib.sh setsid cttyhack sh -i
    ;;
  *)
    # shellcheck disable=SC2086  # a list of names
    sh "$LAB/guest/run-cases.sh" $LAB_CASES
    echo "### lab: done $(uptime_s)"
    ;;
esac
